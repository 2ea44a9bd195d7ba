/*
 * The low-level wrappers Lua calls directly, with luaposix's result shapes:
 * on the calling process (unshare, setns, sethostname, setdomainname, ids),
 * on mounts (mount, umount, same_file), and the capability names libcap
 * knows. Options and namespace names are read as a plan's are (plan.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "nsbox.h"

static int l_unshare(lua_State *L)
{
	return nsbox_result(L, unshare(plan_read_namespaces(L, 1)), "unshare");
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
	int types = lua_isnoneornil(L, 2) ? 0 : plan_read_namespaces(L, 2);
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

/* core.mount(source, target, fstype, options) -> true | nil, message, errno */
static int l_mount(lua_State *L)
{
	const char *source = luaL_optstring(L, 1, NULL);
	const char *target = luaL_checkstring(L, 2);
	const char *fstype = luaL_optstring(L, 3, NULL);
	unsigned long flags;
	const char *data;

	plan_read_mount_options(L, 4, &flags, &data);
	lua_pushfstring(L, "mount %s", target);
	return nsbox_result(L, mount(source, target, fstype, flags, data), lua_tostring(L, -1));
}

/* core.umount(target, options) with options among detach, force, expire, nofollow. */
static int l_umount(lua_State *L)
{
	static const char *const names[] = {"detach", "force", "expire", "nofollow", NULL};
	static const int values[] = {MNT_DETACH, MNT_FORCE, MNT_EXPIRE, UMOUNT_NOFOLLOW};
	const char *target = luaL_checkstring(L, 1);
	int flags = 0;

	if (lua_istable(L, 2)) {
		for (lua_Integer i = 1; lua_geti(L, 2, i) != LUA_TNIL; i++)
			flags |= values[luaL_checkoption(L, -1, NULL, names)];
	} else if (!lua_isnoneornil(L, 2)) {
		flags = values[luaL_checkoption(L, 2, NULL, names)];
	}
	lua_pushfstring(L, "umount %s", target);
	return nsbox_result(L, umount2(target, flags), lua_tostring(L, -1));
}

/*
 * core.same_file(a, b) -> true|false | nil, message, errno: whether two
 * paths name one file (device and inode), e.g. a rootfs that is the host's /.
 */
static int l_same_file(lua_State *L)
{
	const char *a = luaL_checkstring(L, 1);
	const char *b = luaL_checkstring(L, 2);
	struct stat sa, sb;

	if (stat(a, &sa) < 0)
		return nsbox_fail(L, a);
	if (stat(b, &sb) < 0)
		return nsbox_fail(L, b);
	lua_pushboolean(L, sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
	return 1;
}

/* core.cap_names() -> the capability names this kernel knows, "cap_chown" first. */
static int l_cap_names(lua_State *L)
{
	int n = (int)cap_max_bits();

	lua_createtable(L, n, 0);
	for (int i = 0; i < n; i++) {
		char *name = cap_to_name((cap_value_t)i);

		if (name == NULL)
			return luaL_error(L, "cap_to_name(%d): %s", i, strerror(errno));
		lua_pushstring(L, name);
		cap_free(name);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

void syscalls_open(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"unshare", l_unshare},
		{"setns", l_setns},
		{"sethostname", l_sethostname},
		{"setdomainname", l_setdomainname},
		{"ids", l_ids},
		{"mount", l_mount},
		{"umount", l_umount},
		{"same_file", l_same_file},
		{"cap_names", l_cap_names},
		{NULL, NULL},
	};

	luaL_setfuncs(L, fns, 0);
}
