/*
 * The descriptors a spawn passes to the command (core.spawn's fifth
 * argument, { [fd] = what }), prepared in the parent: a descriptor of ours,
 * a Lua file's, /dev/null, or one end of a new pipe whose other end becomes
 * a Lua file on the process handle (stdin, stdout, stderr). The child only
 * moves them into place (child.c's pass_fds).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "nsbox.h"

static const char *const stream_names[] = {"stdin", "stdout", "stderr"};

static int close_file(lua_State *L)
{
	luaL_Stream *s = luaL_checkudata(L, 1, LUA_FILEHANDLE);

	return luaL_fileresult(L, fclose(s->f) == 0, NULL);
}

/* Our end of a pipe (or a terminal) as a Lua file, as io.open makes them, into the table at files. */
int streams_keep(lua_State *L, int files, const char *name, int fd, const char *mode)
{
	luaL_Stream *s = lua_newuserdatauv(L, sizeof(*s), 0);

	s->closef = NULL; /* a closed file until it has its FILE */
	luaL_setmetatable(L, LUA_FILEHANDLE);
	s->f = fdopen(fd, mode);
	if (s->f == NULL) {
		lua_pop(L, 1);
		return -1;
	}
	s->closef = close_file;
	lua_setfield(L, files, name);
	return 0;
}

/* The child's end of a new pipe for target; ours goes into files. */
static int pipe_end(lua_State *L, int files, int target, struct passing *pass)
{
	int fds[2];
	int child, ours;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	child = fds[target == 0 ? 0 : 1];
	ours = fds[target == 0 ? 1 : 0];
	pass->opened[pass->nopened++] = child;
	if (streams_keep(L, files, stream_names[target], ours, target == 0 ? "w" : "r") < 0) {
		close(ours);
		return -1;
	}
	return child;
}

/* The source of the value on top of the stack for target: a descriptor, or -1 with errno. */
static int source(lua_State *L, int target, int files, struct passing *pass)
{
	luaL_Stream *s;
	int fd;

	if (lua_isinteger(L, -1)) {
		fd = (int)lua_tointeger(L, -1);
		if (fcntl(fd, F_GETFD) < 0)
			luaL_error(L, "'options': descriptor %d, for the command's %d, is not open", fd, target);
		return fd;
	}
	if ((s = luaL_testudata(L, -1, LUA_FILEHANDLE)) != NULL) {
		if (s->closef == NULL)
			luaL_error(L, "'options': the file for the command's descriptor %d is closed", target);
		fflush(s->f); /* what was written before comes first */
		return fileno(s->f);
	}
	if (strcmp(luaL_checkstring(L, -1), "null") == 0) {
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd >= 0)
			pass->opened[pass->nopened++] = fd;
		return fd;
	}
	if (strcmp(lua_tostring(L, -1), "pipe") == 0 && target <= 2)
		return pipe_end(L, files, target, pass);
	return luaL_error(L, "'options': bad value for the command's descriptor %d", target);
}

static void add_move(struct child_args *args, int from, int to)
{
	args->fds[args->nfds++] = (struct fd_move){.from = from, .to = to};
	if (to >= args->fds_above)
		args->fds_above = to + 1;
}

/*
 * The table at idx -> args->fds. Ours to close after the spawn go into
 * pass; pipe ends we keep, into the table at files. 0, or -1 with errno.
 */
int streams_read(lua_State *L, int idx, int files, struct child_args *args, struct passing *pass)
{
	bool stderr_to_stdout = false;
	int stdout_source = STDOUT_FILENO;

	args->fds_above = 3;
	if (lua_isnoneornil(L, idx))
		return 0;
	luaL_checktype(L, idx, LUA_TTABLE);
	for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
		int target = (int)luaL_checkinteger(L, -2);
		int from;

		luaL_argcheck(L, target >= 0 && target < 1024 && args->nfds < NSBOX_MAX_FDS, idx, "bad descriptor");
		if (target == 2 && lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "stdout") == 0) {
			stderr_to_stdout = true;
			continue;
		}
		if ((from = source(L, target, files, pass)) < 0) {
			lua_pop(L, 2);
			return -1;
		}
		if (target == 1)
			stdout_source = from;
		add_move(args, from, target);
	}
	if (stderr_to_stdout)
		add_move(args, stdout_source, 2);
	return 0;
}

void streams_close(struct passing *pass)
{
	for (int i = 0; i < pass->nopened; i++)
		close(pass->opened[i]);
	pass->nopened = 0;
}

/* core.write_fd(fd, text) -> true | nil, message, errno: all of text to a descriptor of ours. */
static int l_write_fd(lua_State *L)
{
	int fd = (int)luaL_checkinteger(L, 1);
	size_t len;
	const char *text = luaL_checklstring(L, 2, &len);

	while (len > 0) {
		ssize_t n = write(fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return nsbox_fail(L, lua_pushfstring(L, "write to descriptor %d", fd));
		text += n;
		len -= (size_t)n;
	}
	lua_pushboolean(L, 1);
	return 1;
}

void streams_open(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"write_fd", l_write_fd},
		{NULL, NULL},
	};

	luaL_setfuncs(L, fns, 0);
}
