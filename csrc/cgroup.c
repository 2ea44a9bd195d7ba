/*
 * Cgroups, the parts that need C: making and removing the sandbox's cgroup
 * directories, placing the child in them before it is released (clone3
 * with CLONE_INTO_CGROUP on v2, the pid written to cgroup.procs on v1),
 * killing what is left in them, and a watcher that removes them if the
 * caller dies first. What to create and which limits to write is lua/nsbox/cgroups.lua's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "nsbox.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* The most cgroup directories one sandbox gets: one per hierarchy, and the parents its cgroup.path made. */
#define CGROUP_MAX_DIRS 64
/* How long removal waits for killed processes to leave (frozen v1 tasks, zombies' exits): 10 ms rounds. */
#define CGROUP_REMOVE_ROUNDS 500

/*
 * The child, put into the v2 cgroup at dir_fd by the kernel as it is made,
 * so that none of its instructions runs outside it. clone3 is a raw system
 * call here, so the child cannot start on a stack of its own (only glibc's
 * clone wrapper can): it gets a copy of our memory, as fork would, and goes
 * straight to child_main.
 */
pid_t cgroup_clone(int flags, bool vfork, int dir_fd, const struct child_args *args)
{
	struct clone_args ca;
	long pid;

	memset(&ca, 0, sizeof(ca));
	ca.flags = (uint64_t)(unsigned int)flags | CLONE_INTO_CGROUP | (vfork ? CLONE_VFORK : 0);
	ca.exit_signal = SIGCHLD;
	ca.cgroup = (uint64_t)dir_fd;
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0)
		child_main(args);
	return (pid_t)pid;
}

/* text into dir's file name (one write, as the kernel's cgroup files take it): 0, or -1 with errno. */
static int write_at(int dir, const char *name, const char *text)
{
	size_t len = strlen(text);
	int fd = openat(dir, name, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, len);
	if (n != (ssize_t)len && n >= 0)
		errno = EIO;
	return close_keeping_errno(fd, n == (ssize_t)len ? 0 : -1);
}

/*
 * Parent side, before releasing the child: its pid into each cgroup.procs
 * of the list at cgroup.procs of the table at idx (v1 hierarchies, which
 * have no CLONE_INTO_CGROUP). 0, or -1 with errno and *failed the file.
 */
int cgroup_enter(lua_State *L, int idx, pid_t pid, const char **failed)
{
	char text[16];
	int rc = 0;

	snprintf(text, sizeof(text), "%d", (int)pid);
	lua_getfield(L, idx, "procs");
	for (lua_Integer i = 1; rc == 0 && lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
		*failed = lua_tostring(L, -1); /* anchored by the list */
		rc = write_at(AT_FDCWD, *failed, text);
		lua_pop(L, 1);
	}
	lua_pop(L, 2);
	return rc;
}

/*
 * Parent side, before the clone, for the cgroup table at idx: the v2
 * directory at its field into opened for clone3 (args->cgroup_fd, else -1);
 * with v1 cgroup.procs files to write, the child waits to be placed
 * (args->hold). 0, or -1 with errno.
 */
int cgroup_prepare(lua_State *L, int idx, struct child_args *args)
{
	if (lua_getfield(L, idx, "into") == LUA_TSTRING &&
	    (args->cgroup_fd = open(lua_tostring(L, -1), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	lua_getfield(L, idx, "procs");
	args->hold |= lua_istable(L, -1) && lua_rawlen(L, -1) > 0;
	lua_pop(L, 2);
	return 0;
}

/*
 * A cgroup directory held open from when it was known to be ours, with its
 * parent directory and its name there: a name can be taken again by someone
 * else's cgroup once ours is gone, the open directory cannot.
 */
struct cgroup_dir {
	int fd, up;
	int item; /* its index in the list it came from, for messages */
	dev_t dev;
	ino_t ino;
	char name[NAME_MAX + 1];
};

/* Entries [0, owned): the sandbox's own cgroups; the rest: parents made for them, removed only when empty. */
struct cgroup_dirs {
	int n, owned;
	struct cgroup_dir dir[CGROUP_MAX_DIRS];
};

static void close_dirs(struct cgroup_dirs *dirs)
{
	for (int i = 0; i < dirs->n; i++) {
		close(dirs->dir[i].fd);
		close(dirs->dir[i].up);
	}
	dirs->n = 0;
}

/* The directory at path and its parent opened into d: 0, or -1 with errno. */
static int open_dir(const char *path, size_t len, struct cgroup_dir *d)
{
	char up[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (strlen(slash + 1) > NAME_MAX)
		return (errno = ENAMETOOLONG), -1;
	memcpy(up, path, len + 1);
	up[slash == path ? 1 : slash - path] = '\0';
	strcpy(d->name, slash + 1);
	d->up = -1;
	if ((d->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fstat(d->fd, &st) < 0 ||
	    (d->up = open(up, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		int err = errno;

		if (d->fd >= 0)
			close(d->fd);
		return (errno = err), -1;
	}
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	return 0;
}

/*
 * The lists of absolute directories at first..last checked, all of them
 * before any is opened: a raise after an open would leak its descriptors.
 */
static void check_dirs(lua_State *L, int first, int last)
{
	int total = 0;

	for (int idx = first; idx <= last; idx++) {
		luaL_checktype(L, idx, LUA_TTABLE);
		for (lua_Integer i = 1; lua_rawgeti(L, idx, i) != LUA_TNIL; i++) {
			size_t len;
			const char *path = luaL_checklstring(L, -1, &len);

			luaL_argcheck(L, ++total <= CGROUP_MAX_DIRS && len < PATH_MAX && path[0] == '/', idx,
				      "at most 64 absolute cgroup directories");
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
}

/*
 * The directories listed at idx (checked by check_dirs) opened into dirs
 * (after those there already); one already gone is skipped where
 * missing_ok. 0, or -1 with errno and *failed the path (anchored by the list).
 */
static int open_dirs(lua_State *L, int idx, struct cgroup_dirs *dirs, bool missing_ok, const char **failed)
{
	for (lua_Integer i = 1; lua_rawgeti(L, idx, i) != LUA_TNIL; i++) {
		size_t len;
		const char *path = lua_tolstring(L, -1, &len);

		lua_pop(L, 1);
		if (open_dir(path, len, &dirs->dir[dirs->n]) == 0)
			dirs->dir[dirs->n++].item = (int)i;
		else if (!(missing_ok && errno == ENOENT))
			return (*failed = path), -1;
	}
	lua_pop(L, 1);
	return 0;
}

/* SIGKILL every pid listed in the cgroup.procs of the directory dir: how many were listed (0 when it is gone). */
static int kill_listed(int dir)
{
	char buf[4096];
	int fd = openat(dir, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	int listed = 0;
	long pid = 0;
	ssize_t n;

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] >= '0' && buf[i] <= '9') {
				pid = pid * 10 + (buf[i] - '0');
			} else if (pid > 0) {
				kill((pid_t)pid, SIGKILL);
				listed++;
				pid = 0;
			}
		}
	}
	close(fd);
	return listed;
}

/*
 * Kill whatever is left in the directory dir: at once with cgroup.kill (v2,
 * Linux 5.14); on v1 frozen first where dir is a freezer cgroup, so that a
 * fork bomb cannot outrun the loop, then each listed pid. A removed cgroup
 * has no files left: nothing happens.
 */
static void kill_leftovers(int dir)
{
	bool freezer;

	if (write_at(dir, "cgroup.kill", "1") == 0)
		return;
	freezer = write_at(dir, "freezer.state", "FROZEN") == 0;
	kill_listed(dir);
	if (freezer)
		write_at(dir, "freezer.state", "THAWED");
}

/* rmdir d, if its name still is the directory we opened: 0 (also when it is gone), or -1 with errno. */
static int remove_dir(const struct cgroup_dir *d)
{
	struct stat st;

	if (fstatat(d->up, d->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (st.st_dev != d->dev || st.st_ino != d->ino)
		return 0; /* someone else's now */
	return unlinkat(d->up, d->name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -1 : 0;
}

/*
 * Kill everything in the sandbox's own directories and remove them, waiting
 * for killed processes to leave; then the parents made for them, where they
 * are empty (never killed: what else is in them is someone else's).
 * Async-signal-safe: the watcher runs it in a fork. 0, or -1 with errno and
 * *failed the index of a directory left.
 */
static int remove_dirs(const struct cgroup_dirs *dirs, int *failed)
{
	struct timespec pause = {0, 10 * 1000 * 1000};
	bool removed[CGROUP_MAX_DIRS] = {false};
	int left = dirs->owned;

	for (int round = 0; left > 0 && round < CGROUP_REMOVE_ROUNDS; round++) {
		if (round > 0)
			nanosleep(&pause, NULL);
		for (int i = 0; i < dirs->owned; i++)
			if (!removed[i])
				kill_leftovers(dirs->dir[i].fd);
		for (int i = 0; i < dirs->owned; i++) {
			if (removed[i])
				continue;
			*failed = i;
			if (remove_dir(&dirs->dir[i]) == 0) {
				removed[i] = true;
				left--;
			} else if (errno != EBUSY) {
				return -1;
			}
		}
	}
	if (left > 0)
		return (errno = EBUSY), -1;
	for (int i = dirs->owned; i < dirs->n; i++)
		remove_dir(&dirs->dir[i]);
	return 0;
}

/* core.cgroup_remove({dir, ...}) -> true | nil, message, errno: the sandbox's own cgroups killed and removed. */
static int l_cgroup_remove(lua_State *L)
{
	struct cgroup_dirs *dirs = lua_newuserdatauv(L, sizeof(*dirs), 0);
	const char *path = NULL;
	int failed = 0, err = 0;

	dirs->n = 0;
	check_dirs(L, 1, 1);
	if (open_dirs(L, 1, dirs, true, &path) < 0) {
		err = errno;
	} else if (dirs->owned = dirs->n, remove_dirs(dirs, &failed) < 0) {
		err = errno;
		lua_rawgeti(L, 1, dirs->dir[failed].item);
		path = lua_tostring(L, -1);
	}
	close_dirs(dirs);
	if (err != 0)
		return (errno = err), nsbox_fail(L, lua_pushfstring(L, "remove cgroup %s", path));
	lua_pushboolean(L, 1);
	return 1;
}

/* core.cgroup_mkdir(path) -> true | nil, message, errno; an existing directory is someone else's: EEXIST. */
static int l_cgroup_mkdir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);

	return nsbox_result(L, mkdir(path, 0755), lua_pushfstring(L, "create cgroup %s", path));
}

/* core.cgroup_writable(dir) -> boolean: may we create a cgroup beneath dir (and move our child into it)? */
static int l_cgroup_writable(lua_State *L)
{
	lua_pushboolean(L, access(luaL_checkstring(L, 1), W_OK) == 0);
	return 1;
}

/*
 * The watcher: nobody's child, it waits on the caller's pipe. A byte is the
 * caller's own end of the sandbox (it removed the cgroups, and their names
 * may be someone else's by now): nothing to do. End of file without one is
 * the caller's death: the cgroups go, through the directories opened while
 * they were surely ours.
 */
static _Noreturn void watch(int fd, struct cgroup_dirs *dirs)
{
	int keep[2 * CGROUP_MAX_DIRS + 1], failed;
	sigset_t none;
	ssize_t n;
	char byte;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	keep[0] = 0;
	for (int i = 0; i < dirs->n; i++) {
		/* Off 0 first (the caller's stdin may have been closed): dup2 below must not overwrite one. */
		if (fd_above(&dirs->dir[i].fd, 1) < 0 || fd_above(&dirs->dir[i].up, 1) < 0)
			_exit(1);
		keep[1 + 2 * i] = dirs->dir[i].fd;
		keep[2 + 2 * i] = dirs->dir[i].up;
	}
	if (dup2(fd, 0) < 0 || close_all_but(keep, 1 + 2 * dirs->n) < 0 || chdir("/") < 0)
		_exit(1);
	setsid(); /* no terminal's signal reaches it */
	while ((n = read(0, &byte, 1)) < 0 && errno == EINTR)
		;
	if (n != 0)
		_exit(0);
	_exit(remove_dirs(dirs, &failed) == 0 ? 0 : 1);
}

/*
 * core.cgroup_watch({dir, ...}, {parent, ...}) -> fd | nil, message, errno:
 * a process outside the sandbox's cgroups that kills and removes them (then
 * removes the parents made for them, where empty) if the caller dies while
 * they exist, i.e. if fd (ours, close-on-exec) closes without
 * core.cgroup_unwatch. Forked twice, so that it is nobody's child to reap.
 */
static int l_cgroup_watch(lua_State *L)
{
	struct cgroup_dirs *dirs = lua_newuserdatauv(L, sizeof(*dirs), 0);
	const char *path = NULL;
	int p[2], status;
	pid_t middle;

	dirs->n = 0;
	check_dirs(L, 1, 2);
	if (open_dirs(L, 1, dirs, false, &path) < 0 || (dirs->owned = dirs->n, open_dirs(L, 2, dirs, false, &path)) < 0) {
		int err = errno;

		close_dirs(dirs);
		return (errno = err), nsbox_fail(L, lua_pushfstring(L, "cgroup watcher: open %s", path));
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0) {
		close_dirs(dirs);
		return nsbox_fail(L, "cgroup watcher: socketpair");
	}
	middle = fork();
	if (middle == 0) {
		close(p[1]);
		if (fork() == 0)
			watch(p[0], dirs);
		_exit(0);
	}
	close(p[0]);
	close_dirs(dirs);
	if (middle < 0) {
		close(p[1]);
		return nsbox_fail(L, "cgroup watcher: fork");
	}
	while (waitpid(middle, &status, 0) < 0 && errno == EINTR)
		;
	lua_pushinteger(L, p[1]);
	return 1;
}

/* core.cgroup_unwatch(fd): the caller removed the cgroups itself; the watcher reads so, and leaves. */
static int l_cgroup_unwatch(lua_State *L)
{
	int fd = (int)luaL_checkinteger(L, 1);

	/* a socket, not a pipe: a watcher killed meanwhile is no SIGPIPE here */
	while (send(fd, "d", 1, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
	close(fd);
	return 0;
}

/*
 * After the sandbox's end (wait, close): the handle's cgroup object (in the
 * table at files) told how it ended, so it can read usage and remove the
 * cgroups; pushes its reason for the end ("oom") or nil. protected: from
 * __gc, where no error may escape.
 */
void cgroup_finish(lua_State *L, int files, int status, bool protected)
{
	if (lua_getfield(L, files, "cgroup") == LUA_TNIL)
		return;
	lua_getfield(L, -1, "finish");
	lua_insert(L, -2);
	if (WIFSIGNALED(status)) {
		lua_pushliteral(L, "signal");
		lua_pushinteger(L, WTERMSIG(status));
	} else {
		lua_pushliteral(L, "exit");
		lua_pushinteger(L, WEXITSTATUS(status));
	}
	if (!protected) {
		lua_call(L, 3, 1);
	} else if (lua_pcall(L, 3, 1, 0) != LUA_OK) {
		lua_pop(L, 1);
		lua_pushnil(L);
	}
}

/* process:stats() -> { memory_peak = bytes, cpu_usec = ..., pids_peak = ..., ... } | nil, message */
int cgroup_process_stats(lua_State *L)
{
	luaL_checkudata(L, 1, NSBOX_PROCESS_MT);
	lua_getiuservalue(L, 1, 1);
	if (lua_getfield(L, -1, "cgroup") == LUA_TNIL) {
		luaL_pushfail(L);
		lua_pushliteral(L, "stats: the sandbox has no cgroup (recipe key 'cgroup')");
		return 2;
	}
	lua_getfield(L, -1, "stats");
	lua_insert(L, -2);
	lua_call(L, 1, 1);
	return 1;
}

void cgroup_open(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"cgroup_mkdir", l_cgroup_mkdir},
		{"cgroup_remove", l_cgroup_remove},
		{"cgroup_writable", l_cgroup_writable},
		{"cgroup_watch", l_cgroup_watch},
		{"cgroup_unwatch", l_cgroup_unwatch},
		{NULL, NULL},
	};

	luaL_setfuncs(L, fns, 0);
}
