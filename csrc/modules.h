/*
 * nsbox's Lua modules, precompiled by tools/embed.lua into build/gen/modules.c
 * and loaded by modules.c; shared by nsbox.core and the nsbox command.
 */
#ifndef NSBOX_MODULES_H
#define NSBOX_MODULES_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

struct embedded_module {
	const char *name;           /* "nsbox.recipe"; NULL ends the table */
	size_t source_size;         /* of the source the chunk was compiled from */
	uint64_t source_hash;       /* its FNV-1a hash */
	const unsigned char *chunk; /* string.dump's output */
	size_t chunk_size;
};

extern const struct embedded_module embedded_modules[];

/* package.preload entries for every embedded module not loaded yet. */
void modules_preload(lua_State *L);
/* Push the embedded chunk of a module, loaded but not run (a Lua error if there is none). */
void modules_push_chunk(lua_State *L, const char *name);

#endif
