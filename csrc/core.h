/*
 * nsbox.core's entry point: what `require "nsbox.core"` finds in core.so,
 * and what the nsbox command, which has the core linked in, preloads.
 */
#ifndef NSBOX_CORE_H
#define NSBOX_CORE_H

#include <lua.h>

LUAMOD_API int luaopen_nsbox_core(lua_State *L);

#endif
