/*
 * Namespaces by name; the wrappers that act on the calling process (unshare,
 * setns, sethostname, setdomainname, the caller's ids); and joining the
 * namespaces of another process, which a child does as a plan step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <lauxlib.h>

#include "nsbox.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* The names recipes use, in the order of namespaces(7). */
const char *const ns_names[] = {
	"cgroup", "ipc", "mount", "net", "pid", "time", "user", "uts", NULL,
};

const int ns_flags[] = {
	CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWNET,
	CLONE_NEWPID, CLONE_NEWTIME, CLONE_NEWUSER, CLONE_NEWUTS,
};

/* Their files in /proc/PID/ns. */
const char *const ns_proc_names[] = {
	"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts", NULL,
};

#define NS_COUNT 8

/* A namespace name, or a list of them, at idx -> CLONE_NEW* flags. */
int ns_check_flags(lua_State *L, int idx)
{
	int flags = 0;

	if (lua_type(L, idx) == LUA_TSTRING)
		return ns_flags[luaL_checkoption(L, idx, NULL, ns_names)];
	luaL_checktype(L, idx, LUA_TTABLE);
	for (lua_Integer i = 1; lua_geti(L, idx, i) != LUA_TNIL; i++) {
		const char *name = lua_tostring(L, -1);
		int found = -1;

		for (int k = 0; name && ns_names[k]; k++)
			if (strcmp(name, ns_names[k]) == 0)
				found = k;
		if (found < 0)
			return luaL_error(L, "bad namespace #%d '%s' (expected one of cgroup, ipc, mount, "
					  "net, pid, time, user, uts)", (int)i, name ? name : luaL_typename(L, -1));
		flags |= ns_flags[found];
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return flags;
}

static int l_unshare(lua_State *L)
{
	return nsbox_result(L, unshare(ns_check_flags(L, 1)), "unshare");
}

static int l_sethostname(lua_State *L)
{
	size_t len;
	const char *name = luaL_checklstring(L, 1, &len);

	return nsbox_result(L, sethostname(name, len), "sethostname");
}

static int l_setdomainname(lua_State *L)
{
	size_t len;
	const char *name = luaL_checklstring(L, 1, &len);

	return nsbox_result(L, setdomainname(name, len), "setdomainname");
}

/* The ids a default user namespace mapping is made of: uid, gid, euid, egid. */
static int l_ids(lua_State *L)
{
	lua_pushinteger(L, getuid());
	lua_pushinteger(L, getgid());
	lua_pushinteger(L, geteuid());
	lua_pushinteger(L, getegid());
	return 4;
}

/*
 * core.setns(target [, types]): target is a pid (its namespaces of the given
 * types, through a pidfd where the kernel has them), a path such as
 * /proc/PID/ns/net or /run/netns/x, or an open file of one.
 */
static int l_setns(lua_State *L)
{
	int types = lua_isnoneornil(L, 2) ? 0 : ns_check_flags(L, 2);
	int fd, rc, err;

	if (lua_isinteger(L, 1)) {
		lua_Integer pid = lua_tointeger(L, 1);

		luaL_argcheck(L, pid > 0 && pid <= INT_MAX, 1, "pid out of range");
		luaL_argcheck(L, types != 0, 2, "namespace types needed with a pid");
		struct step step = {.op = STEP_JOIN, .pid = (pid_t)pid, .nstypes = types};

		return nsbox_result(L, ns_join(&step), "setns");
	}
	if (lua_type(L, 1) == LUA_TSTRING)
		fd = open(lua_tostring(L, 1), O_RDONLY | O_CLOEXEC);
	else
		fd = fileno(((luaL_Stream *)luaL_checkudata(L, 1, LUA_FILEHANDLE))->f);
	if (fd < 0)
		return nsbox_fail(L, "setns");
	rc = setns(fd, types);
	err = errno;
	if (lua_type(L, 1) == LUA_TSTRING)
		close(fd);
	errno = err;
	return nsbox_result(L, rc, "setns");
}

void ns_open(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"unshare", l_unshare},
		{"setns", l_setns},
		{"sethostname", l_sethostname},
		{"setdomainname", l_setdomainname},
		{"ids", l_ids},
		{NULL, NULL},
	};

	luaL_setfuncs(L, fns, 0);
}

/* ---- child side: async-signal-safe ---- */

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* "/proc/PID/" followed by tail into buf, without snprintf. */
static const char *proc_path(char *buf, size_t size, pid_t pid, const char *tail)
{
	char digits[16];
	size_t n = 0, len;

	do
		digits[n++] = (char)('0' + pid % 10);
	while ((pid /= 10) > 0 && n < sizeof(digits));
	len = 6 + n + 1 + strlen(tail);
	if (len + 1 > size)
		return NULL;
	memcpy(buf, "/proc/", 6);
	for (size_t i = 0; i < n; i++)
		buf[6 + i] = digits[n - 1 - i];
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

	for (int k = 0; k < NS_COUNT; k++)
		if ((types & ns_flags[k]) && ns_flags[k] == CLONE_NEWUSER)
			user = k;
		else if (types & ns_flags[k])
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
		int fd = open_ns_file(pid, ns_proc_names[order[i]]);
		int rc, err;

		if (fd < 0)
			return -1;
		rc = setns(fd, ns_flags[order[i]]);
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
	} else if (rc == 0) {
		const luaL_Stream *stream = step->stream;

		if (stream->closef == NULL) {
			errno = EBADF;
			rc = -1;
		} else {
			rc = setns(fileno(stream->f), step->nstypes);
		}
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
