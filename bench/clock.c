/*
 * clock.now() -> seconds on CLOCK_MONOTONIC, as a float. Lua itself has only
 * os.time (whole seconds) and os.clock (CPU time of this process alone, blind
 * to the children a spawn loop waits for).
 */
#include <time.h>

#include <lauxlib.h>

static int now(lua_State *L)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
	return 1;
}

LUAMOD_API int luaopen_clock(lua_State *L);

LUAMOD_API int luaopen_clock(lua_State *L)
{
	static const luaL_Reg fns[] = {{"now", now}, {NULL, NULL}};

	luaL_newlib(L, fns);
	return 1;
}
