/*
 * luaopen_nsbox_core: the module's only export. Each C file adds its own
 * functions to the module table; this file also holds the result shapes
 * every low-level wrapper shares.
 */
#include <errno.h>
#include <string.h>

#include <lauxlib.h>

#include "nsbox.h"

/* Push the `nil, "what: reason", errno` triple of a failed call. */
int nsbox_fail(lua_State *L, const char *what)
{
	int err = errno;

	luaL_pushfail(L);
	lua_pushfstring(L, "%s: %s", what, strerror(err));
	lua_pushinteger(L, err);
	return 3;
}

/* `true` when rc is 0, the failure triple otherwise. */
int nsbox_result(lua_State *L, int rc, const char *what)
{
	if (rc != 0)
		return nsbox_fail(L, what);
	lua_pushboolean(L, 1);
	return 1;
}

LUAMOD_API int luaopen_nsbox_core(lua_State *L);

LUAMOD_API int luaopen_nsbox_core(lua_State *L)
{
	lua_newtable(L);
	ns_open(L);
	mount_open(L);
	plan_open(L);
	spawn_open(L);
	nsinfo_open(L);
	caps_open(L);
	streams_open(L);
	runtime_open(L);
	return 1;
}
