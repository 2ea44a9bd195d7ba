/*
 * Namespaces by name, and the wrappers that act on the calling process:
 * unshare, sethostname, setdomainname, and the caller's ids.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <string.h>
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

/* A namespace name, or a list of them, at idx -> CLONE_NEW* flags. */
static int check_ns_flags(lua_State *L, int idx)
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
	return nsbox_result(L, unshare(check_ns_flags(L, 1)), "unshare");
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

void ns_open(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"unshare", l_unshare},
		{"sethostname", l_sethostname},
		{"setdomainname", l_setdomainname},
		{"ids", l_ids},
		{NULL, NULL},
	};

	luaL_setfuncs(L, fns, 0);
}
