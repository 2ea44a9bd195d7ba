/*
 * The parent's part of a user namespace's start: the child's id maps,
 * written between the clone and the child's go-ahead. Without Lua, so that
 * bench/floor.c writes them the same way.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "plan.h"

/* /proc/PID/name gets text in one write: the kernel takes a map whole or not at all. */
static int write_proc_file(pid_t pid, const char *name, const char *text)
{
	char path[64];
	size_t len = strlen(text);
	int fd, err;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, text, len);
	err = errno;
	close(fd);
	if (n == (ssize_t)len)
		return 0;
	errno = n < 0 ? err : EIO;
	return -1;
}

/*
 * Write the child's maps; on failure *what names the file. gid_map needs
 * setgroups denied first unless the parent holds CAP_SETGID, so "auto"
 * tries without and denies only when the kernel says so.
 */
int write_id_maps(pid_t pid, const struct plan *plan, const char **what)
{
	*what = "setgroups";
	if (plan->setgroups == SETGROUPS_DENY && write_proc_file(pid, "setgroups", "deny") < 0)
		return -1;
	*what = "uid_map";
	if (plan->uid_map && write_proc_file(pid, "uid_map", plan->uid_map) < 0)
		return -1;
	*what = "gid_map";
	if (plan->gid_map && write_proc_file(pid, "gid_map", plan->gid_map) < 0) {
		if (errno != EPERM || plan->setgroups != SETGROUPS_AUTO)
			return -1;
		*what = "setgroups";
		if (write_proc_file(pid, "setgroups", "deny") < 0)
			return -1;
		*what = "gid_map";
		return write_proc_file(pid, "gid_map", plan->gid_map);
	}
	return 0;
}
