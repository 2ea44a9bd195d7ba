/*
 * Namespace identities as /proc shows them: the processes there, the
 * namespace types of one process, and which namespace of a type it is in.
 * lua/nsbox/lsns.lua builds nsbox.namespaces and nsbox.list on these.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "nsbox.h"

/* A process's /proc directory, and how errors name the process. */
struct proc_ref {
	char dir[32];
	char who[32];
};

/* A pid at idx, or nil for the calling process. */
static struct proc_ref check_proc(lua_State *L, int idx)
{
	struct proc_ref p;

	if (lua_isnoneornil(L, idx)) {
		snprintf(p.dir, sizeof(p.dir), "/proc/self");
		snprintf(p.who, sizeof(p.who), "self");
	} else {
		lua_Integer pid = luaL_checkinteger(L, idx);

		luaL_argcheck(L, pid > 0 && pid <= INT_MAX, idx, "pid out of range");
		snprintf(p.dir, sizeof(p.dir), "/proc/%d", (int)pid);
		snprintf(p.who, sizeof(p.who), "pid %d", (int)pid);
	}
	return p;
}

/*
 * The failure triple for a look-up under p's directory. ENOENT there
 * usually means the process is gone, which callers want to tell apart
 * from a namespace the kernel does not have: say ESRCH then.
 */
static int proc_fail(lua_State *L, const struct proc_ref *p)
{
	int err = errno;

	if (err == ENOENT && access(p->dir, F_OK) != 0)
		err = ESRCH;
	errno = err;
	return nsbox_fail(L, p->who);
}

/* Namespace file names are short lower-case words; anything else could leave /proc/PID/ns. */
static const char *check_type(lua_State *L, int idx)
{
	size_t len;
	const char *type = luaL_checklstring(L, idx, &len);

	luaL_argcheck(L, len > 0 && len < 32 && strspn(type, "abcdefghijklmnopqrstuvwxyz_") == len,
		      idx, "not a namespace type");
	return type;
}

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* core.procs() -> { {pid=, uid=}, ... } in /proc's order; uid owns /proc/PID, as lsns reports it. */
static int l_procs(lua_State *L)
{
	DIR *dir = opendir("/proc");
	const struct dirent *e;
	lua_Integer n = 0;

	if (!dir)
		return nsbox_fail(L, "/proc");
	lua_newtable(L);
	while ((e = readdir(dir)) != NULL) {
		struct stat st;

		/* A process that exits between readdir and fstatat is simply not there. */
		if (!all_digits(e->d_name) || fstatat(dirfd(dir), e->d_name, &st, 0) != 0)
			continue;
		lua_createtable(L, 0, 2);
		lua_pushinteger(L, strtol(e->d_name, NULL, 10));
		lua_setfield(L, -2, "pid");
		lua_pushinteger(L, (lua_Integer)st.st_uid);
		lua_setfield(L, -2, "uid");
		lua_rawseti(L, -2, ++n);
	}
	closedir(dir);
	return 1;
}

/* core.nstypes([pid]) -> the names in /proc/PID/ns, in its order. */
static int l_nstypes(lua_State *L)
{
	struct proc_ref p = check_proc(L, 1);
	char path[48];
	DIR *dir;
	const struct dirent *e;
	lua_Integer n = 0;

	snprintf(path, sizeof(path), "%s/ns", p.dir);
	dir = opendir(path);
	if (!dir)
		return proc_fail(L, &p);
	lua_newtable(L);
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		lua_pushstring(L, e->d_name);
		lua_rawseti(L, -2, ++n);
	}
	closedir(dir);
	return 1;
}

/* core.nsid([pid,] type) -> inode, st_dev, "uts:[4026531838]" of /proc/PID/ns/TYPE. */
static int l_nsid(lua_State *L)
{
	struct proc_ref p = check_proc(L, 1);
	const char *type = check_type(L, 2);
	char path[80], text[64];
	struct stat st;
	ssize_t len;

	snprintf(path, sizeof(path), "%s/ns/%s", p.dir, type);
	if (stat(path, &st) != 0)
		return proc_fail(L, &p);
	len = readlink(path, text, sizeof(text));
	if (len < 0)
		return proc_fail(L, &p);
	lua_pushinteger(L, (lua_Integer)st.st_ino);
	lua_pushinteger(L, (lua_Integer)st.st_dev);
	lua_pushlstring(L, text, (size_t)len);
	return 3;
}

void nsinfo_open(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"procs", l_procs},
		{"nstypes", l_nstypes},
		{"nsid", l_nsid},
		{NULL, NULL},
	};

	luaL_setfuncs(L, fns, 0);
}
