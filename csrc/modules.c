/*
 * The precompiled modules as package.preload entries. A preloaded module
 * runs its embedded chunk only while the source that Lua's own searcher
 * would load (package.searchpath on package.path) has the bytes the chunk
 * was compiled from; otherwise that source runs, as without the preload.
 * So editing a module in a checkout takes effect without a rebuild, and the
 * embedded chunk saves parsing whenever it is what the source says. With no
 * source on the path at all (the command installed alone), the chunk runs.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "modules.h"

/*
 * tools/embed.lua's hash: FNV-1a's step over little-endian 8-byte words,
 * each followed by folding the high half into the low (a multiply carries
 * bits only upwards: without the fold, edits in two words' top bytes could
 * cancel out), then FNV-1a over the bytes left. The two must agree. n is a
 * multiple of 8 but for the last block of a file.
 */
static uint64_t hash_block(const unsigned char *p, size_t n, uint64_t hash)
{
	const uint64_t prime = UINT64_C(1099511628211);
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t word;

		memcpy(&word, p + i, sizeof(word));
		hash = (hash ^ le64toh(word)) * prime;
		hash ^= hash >> 32;
	}
	for (; i < n; i++)
		hash = (hash ^ p[i]) * prime;
	return hash;
}

/* Fill buf from fd as far as it goes: size, 0 at the end, -1 on error. */
static ssize_t read_block(int fd, unsigned char *buf, size_t size)
{
	size_t got = 0;

	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);

		if (n == 0)
			break;
		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0)
			got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Whether the file at path holds exactly the module's source. */
static int same_source(const char *path, const struct embedded_module *m)
{
	unsigned char buf[16384]; /* a multiple of 8: only the last block has loose bytes */
	uint64_t hash = UINT64_C(14695981039346656037);
	size_t total = 0;
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) != 0 || (size_t)st.st_size != m->source_size) {
		close(fd);
		return 0;
	}
	while ((n = read_block(fd, buf, sizeof(buf))) > 0) {
		hash = hash_block(buf, (size_t)n, hash);
		total += (size_t)n;
	}
	close(fd);
	return n == 0 && total == m->source_size && hash == m->source_hash;
}

static const struct embedded_module *find(const char *name)
{
	for (const struct embedded_module *m = embedded_modules; m->name != NULL; m++)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

static void load_chunk(lua_State *L, const struct embedded_module *m)
{
	if (luaL_loadbufferx(L, (const char *)m->chunk, m->chunk_size, m->name, "b") != LUA_OK)
		lua_error(L);
}

void modules_push_chunk(lua_State *L, const char *name)
{
	const struct embedded_module *m = find(name);

	if (m == NULL)
		luaL_error(L, "no embedded module '%s'", name);
	load_chunk(L, m);
}

/*
 * The preload loader (upvalue: the module's entry): require calls it with
 * the name; it runs the chunk or the changed source with the name and the
 * source's path, as Lua's file searcher does, and returns what that returns.
 */
static int load_module(lua_State *L)
{
	const struct embedded_module *m = lua_touserdata(L, lua_upvalueindex(1));
	const char *path = NULL;

	lua_getglobal(L, "package");
	lua_getfield(L, -1, "searchpath");
	lua_pushstring(L, m->name);
	lua_getfield(L, -3, "path");
	lua_call(L, 2, 1);
	if (lua_isstring(L, -1))
		path = lua_tostring(L, -1);
	if (path == NULL || same_source(path, m))
		load_chunk(L, m);
	else if (luaL_loadfilex(L, path, NULL) != LUA_OK)
		return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", m->name, path,
				  lua_tostring(L, -1));
	lua_pushstring(L, m->name);
	if (path != NULL)
		lua_pushstring(L, path);
	else
		lua_pushliteral(L, ":preload:");
	lua_call(L, 2, 1);
	return 1;
}

void modules_preload(lua_State *L)
{
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	for (const struct embedded_module *m = embedded_modules; m->name != NULL; m++) {
		lua_getfield(L, -2, m->name);
		lua_getfield(L, -2, m->name);
		if (lua_isnil(L, -1) && lua_isnil(L, -2)) {
			lua_pushlightuserdata(L, (void *)m);
			lua_pushcclosure(L, load_module, 1);
			lua_setfield(L, -4, m->name);
		}
		lua_pop(L, 2);
	}
	lua_pop(L, 2);
}
