/*
 * Small helpers of the Lua-free files, for the child and the parent alike:
 * async-signal-safe, nothing allocated.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plan.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* Close fd, keeping the errno of what failed before: returns rc. */
int close_keeping_errno(int fd, int rc)
{
	int err = errno;

	close(fd);
	errno = err;
	return rc;
}

/* Close *fd if open, and mark it closed. */
void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * Move *fd to a number at least min (close-on-exec), unless it is there
 * already: so that a dup2 to a low number cannot overwrite it.
 */
int fd_above(int *fd, int min)
{
	int above;

	if (*fd >= min)
		return 0;
	if ((above = fcntl(*fd, F_DUPFD_CLOEXEC, min)) < 0)
		return -1;
	close(*fd);
	*fd = above;
	return 0;
}

/* Close every descriptor but the n in keep (sorted here, in place; duplicates allowed). */
int close_all_but(int *keep, int n)
{
	unsigned int from = 0;

	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int fd = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = fd;
		}
	for (int i = 0; i < n; i++) {
		if ((unsigned int)keep[i] > from && syscall(SYS_close_range, from, (unsigned int)keep[i] - 1, 0U) < 0)
			return -1;
		from = (unsigned int)keep[i] + 1;
	}
	return (int)syscall(SYS_close_range, from, ~0U, 0U);
}

int write_all(int fd, const char *text)
{
	size_t left = strlen(text);

	while (left > 0) {
		ssize_t n = write(fd, text, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		text += n;
		left -= (size_t)n;
	}
	return 0;
}

/* Write text into an existing file: sysctls, time offsets. */
int write_path(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -1;
	return close_keeping_errno(fd, write_all(fd, text));
}

/* A number as decimal text in buf, without snprintf: the text's start. */
char *decimal(char buf[12], unsigned int n)
{
	char *p = buf + 11;

	*p = '\0';
	do
		*--p = (char)('0' + n % 10);
	while (n /= 10);
	return p;
}

void fd_message_init(struct fd_message *m)
{
	struct cmsghdr *cmsg;

	memset(m, 0, sizeof(*m));
	m->iov = (struct iovec){.iov_base = &m->byte, .iov_len = 1};
	m->msg = (struct msghdr){.msg_iov = &m->iov, .msg_iovlen = 1, .msg_control = m->control.space,
				 .msg_controllen = sizeof(m->control.space)};
	cmsg = CMSG_FIRSTHDR(&m->msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
}

/* Every name table's rows start with their name (plan.h): the name of row i, NULL past the last. */
const char *row_name(const void *rows, size_t stride, size_t i)
{
	return *(const char *const *)(const void *)((const char *)rows + i * stride);
}

int find_row(const void *rows, size_t stride, const char *name, size_t len)
{
	for (size_t i = 0; row_name(rows, stride, i); i++)
		if (strlen(row_name(rows, stride, i)) == len && memcmp(row_name(rows, stride, i), name, len) == 0)
			return (int)i;
	return -1;
}
