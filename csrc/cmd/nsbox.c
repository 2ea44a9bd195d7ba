/*
 * The nsbox command: a host for the launcher, lua/nsbox/launcher.lua. It
 * embeds the Lua library (linked statically: no readline, nothing to
 * relocate at start), nsbox.core (preloaded: no core.so to load) and
 * nsbox's modules precompiled (modules.c), and hands
 * the launcher its own path and arguments; the launcher decides where the
 * rest comes from and what the words mean, in Lua.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lualib.h>

#include "../core.h"
#include "../modules.h"

/* The message of an error nobody caught, with where it happened. */
static int traceback(lua_State *L)
{
	const char *message = lua_tostring(L, 1);

	luaL_traceback(L, L, message != NULL ? message : luaL_tolstring(L, 1, NULL), 1);
	return 1;
}

/*
 * What the launcher's checks need and Lua lacks, without starting a
 * shell and stat(1): stat(path) -> uid, gid, mode (following links) or nil;
 * lua_files(dir) -> the names of the *.lua files in it, or {} .
 */
static int host_stat(lua_State *L)
{
	struct stat st;

	if (stat(luaL_checkstring(L, 1), &st) != 0)
		return 0;
	lua_pushinteger(L, st.st_uid);
	lua_pushinteger(L, st.st_gid);
	lua_pushinteger(L, st.st_mode & 07777);
	return 3;
}

static int host_lua_files(lua_State *L)
{
	DIR *dir = opendir(luaL_checkstring(L, 1));
	struct dirent *entry;
	int n = 0;

	lua_newtable(L);
	if (dir == NULL)
		return 1;
	while ((entry = readdir(dir)) != NULL) {
		size_t len = strlen(entry->d_name);

		if (len > 4 && strcmp(entry->d_name + len - 4, ".lua") == 0) {
			lua_pushstring(L, entry->d_name);
			lua_rawseti(L, -2, ++n);
		}
	}
	closedir(dir);
	return 1;
}

static const luaL_Reg host[] = {{"stat", host_stat}, {"lua_files", host_lua_files}, {NULL, NULL}};

/* arg as lua.c makes it for a script: arg[0] the program, arg[1..] the words. */
static void push_args(lua_State *L, int argc, char **argv)
{
	lua_createtable(L, argc, 0);
	for (int i = 0; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i);
	}
	lua_pushvalue(L, -1);
	lua_setglobal(L, "arg");
}

static int run_launcher(lua_State *L)
{
	int argc = (int)lua_tointeger(L, 1);
	char **argv = lua_touserdata(L, 2);
	char self[PATH_MAX];

	/*
	 * As `lua -E`: no LUA_PATH, LUA_CPATH (sudo -E and su keep them), so a
	 * module in a folder the caller's environment names never runs; the
	 * launcher chooses the paths.
	 */
	lua_pushboolean(L, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
	luaL_openlibs(L);
	/* The core, once the launcher requires it, preloads the other modules (core.c). */
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	lua_pushcfunction(L, luaopen_nsbox_core);
	lua_setfield(L, -2, "nsbox.core");
	lua_pop(L, 1);
	modules_push_chunk(L, "nsbox.launcher");
	lua_call(L, 0, 1);
	lua_getfield(L, -1, "main");
	/*
	 * Where this program is, links resolved: the launcher looks for its
	 * modules around it. Unknown (no /proc), nil: argv[0] is whatever the
	 * caller chose, so the launcher then trusts no folder.
	 */
	if (realpath("/proc/self/exe", self) != NULL)
		lua_pushstring(L, self);
	else
		lua_pushnil(L);
	push_args(L, argc, argv);
	luaL_newlib(L, host);
	lua_call(L, 3, 0);
	return 0;
}

int main(int argc, char **argv)
{
	lua_State *L = luaL_newstate();
	int status;

	if (L == NULL) {
		fputs("nsbox: not enough memory\n", stderr);
		return 125;
	}
	lua_gc(L, LUA_GCGEN, 0, 0); /* as lua.c does */
	lua_pushcfunction(L, traceback);
	lua_pushcfunction(L, run_launcher);
	lua_pushinteger(L, argc);
	lua_pushlightuserdata(L, argv);
	status = lua_pcall(L, 2, 0, 1);
	if (status != LUA_OK)
		fprintf(stderr, "nsbox: %s\n", lua_tostring(L, -1));
	lua_close(L);
	return status == LUA_OK ? 0 : 125;
}
