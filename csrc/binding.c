/*
 * What every Lua binding of nsbox.core shares: the result shapes of the
 * low-level wrappers, and the C name tables (plan.h) read and shown in Lua.
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

/* The row named by the string at idx in a name table, as luaL_checkoption does with a list. */
int nsbox_check_row(lua_State *L, int idx, const void *rows, size_t stride)
{
	size_t len;
	const char *name = luaL_checklstring(L, idx, &len);
	int row = find_row(rows, stride, name, len);

	if (row < 0)
		return luaL_argerror(L, idx, lua_pushfstring(L, "invalid option '%s'", name));
	return row;
}

/* A name table as a Lua map: name -> a table of the row's other fields, which fields sets. */
void nsbox_push_rows(lua_State *L, const void *rows, size_t stride, void (*fields)(lua_State *L, const void *row))
{
	lua_newtable(L);
	for (size_t i = 0; row_name(rows, stride, i); i++) {
		lua_newtable(L);
		fields(L, (const char *)rows + i * stride);
		lua_setfield(L, -2, row_name(rows, stride, i));
	}
}
