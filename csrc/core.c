/*
 * luaopen_nsbox_core: the module's only export. Each binding file adds its
 * own functions (and constants) to the module table. Loading it also
 * preloads nsbox's precompiled Lua modules (modules.c), so that whatever
 * `require "nsbox.core"` first (nsbox's init.lua, a recipe file) gets the
 * rest without parsing them.
 */
#include <lauxlib.h>

#include "core.h"
#include "modules.h"
#include "nsbox.h"

LUAMOD_API int luaopen_nsbox_core(lua_State *L)
{
	modules_preload(L);
	lua_newtable(L);
	syscalls_open(L);
	plan_open(L);
	spawn_open(L);
	process_open(L);
	nsinfo_open(L);
	streams_open(L);
	seccomp_open(L);
	cgroup_open(L);
	netlink_open(L);
	runtime_open(L);
	files_open(L);
	return 1;
}
