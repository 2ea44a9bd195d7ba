/*
 * Namespaces by name (the table every other file and the Lua modules read),
 * and joining the namespaces of another process, which a child does as a
 * plan step (core.setns too): async-signal-safe, nothing allocated.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plan.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* The names recipes use, in the order of namespaces(7); a name table (plan.h). */
const struct ns_type ns_types[] = {
	{.name = "cgroup", .flag = CLONE_NEWCGROUP, .proc = "cgroup"},
	{.name = "ipc", .flag = CLONE_NEWIPC, .proc = "ipc"},
	{.name = "mount", .flag = CLONE_NEWNS, .proc = "mnt"},
	{.name = "net", .flag = CLONE_NEWNET, .proc = "net"},
	{.name = "pid", .flag = CLONE_NEWPID, .proc = "pid"},
	{.name = "time", .flag = CLONE_NEWTIME, .proc = "time"},
	{.name = "user", .flag = CLONE_NEWUSER, .proc = "user"},
	{.name = "uts", .flag = CLONE_NEWUTS, .proc = "uts"},
	{.name = NULL},
};

#define NS_COUNT (sizeof(ns_types) / sizeof(ns_types[0]) - 1)

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* "/proc/PID/" followed by tail into buf, without snprintf. */
static const char *proc_path(char *buf, size_t size, pid_t pid, const char *tail)
{
	char digits[12];
	const char *number = decimal(digits, (unsigned int)pid);
	size_t n = strlen(number);

	if (6 + n + 1 + strlen(tail) + 1 > size)
		return NULL;
	memcpy(buf, "/proc/", 6);
	memcpy(buf + 6, number, n);
	buf[6 + n] = '/';
	memcpy(buf + 7 + n, tail, strlen(tail) + 1);
	return buf;
}

static int open_proc(pid_t pid, const char *tail, int flags)
{
	char buf[64];

	return proc_path(buf, sizeof(buf), pid, tail) ? open(buf, flags | O_CLOEXEC) : -1;
}

static int open_ns_file(pid_t pid, const char *name)
{
	char tail[16] = "ns/";

	memcpy(tail + 3, name, strlen(name) + 1);
	return open_proc(pid, tail, O_RDONLY);
}

/* Without pidfds: one file per type; an unprivileged caller needs the user namespace first. */
static int join_by_files(pid_t pid, int types)
{
	int order[NS_COUNT], n = 0;
	int user = -1;

	for (int k = 0; ns_types[k].name; k++)
		if ((types & ns_types[k].flag) && ns_types[k].flag == CLONE_NEWUSER)
			user = k;
		else if (types & ns_types[k].flag)
			order[n++] = k;
	if (user >= 0) {
		if (geteuid() != 0) {
			memmove(order + 1, order, (size_t)n * sizeof(int));
			order[0] = user;
			n++;
		} else {
			order[n++] = user;
		}
	}
	for (int i = 0; i < n; i++) {
		int fd = open_ns_file(pid, ns_types[order[i]].proc);
		int rc, err;

		if (fd < 0)
			return -1;
		rc = setns(fd, ns_types[order[i]].flag);
		err = errno;
		close(fd);
		errno = err;
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* All of a process's namespaces of the given types at once, with a pidfd; files otherwise. */
static int join_pid(pid_t pid, int types)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	int rc, err;

	if (fd < 0)
		return errno == ENOSYS ? join_by_files(pid, types) : -1;
	rc = setns(fd, types);
	err = errno;
	close(fd);
	if (rc < 0 && err == EINVAL)
		return join_by_files(pid, types); /* a kernel without setns on pidfds */
	errno = err;
	return rc;
}

/*
 * After a mount namespace is entered the kernel leaves us at its root;
 * like nsenter --root --wd, take the target's own root and working
 * directory instead, opened before the switch made them unreachable.
 */
int ns_join(const struct step *step)
{
	int root = -1, cwd = -1, rc = 0, err;

	if (step->pid > 0 && (step->nstypes & CLONE_NEWNS)) {
		root = open_proc(step->pid, "root", O_RDONLY | O_DIRECTORY);
		cwd = open_proc(step->pid, "cwd", O_RDONLY | O_DIRECTORY);
		if (root < 0 || cwd < 0)
			rc = -1;
	}
	if (rc == 0 && step->pid > 0) {
		rc = join_pid(step->pid, step->nstypes);
	} else if (rc == 0 && step->source) {
		int fd = open(step->source, O_RDONLY | O_CLOEXEC);

		rc = fd < 0 ? -1 : setns(fd, step->nstypes);
		err = errno;
		if (fd >= 0)
			close(fd);
		errno = err;
	} else if (rc == 0 && step->fd < 0) {
		errno = EBADF; /* the file was closed */
		rc = -1;
	} else if (rc == 0) {
		rc = setns(step->fd, step->nstypes);
	}
	if (rc == 0 && root >= 0)
		rc = (fchdir(root) < 0 || chroot(".") < 0 || fchdir(cwd) < 0) ? -1 : 0;
	err = errno;
	if (root >= 0)
		close(root);
	if (cwd >= 0)
		close(cwd);
	errno = err;
	return rc;
}
