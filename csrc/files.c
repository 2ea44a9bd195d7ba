/*
 * Files held by number: the state files of the runtime and the network's
 * leases, read and written whole under a lock. core hands out the
 * descriptor; the caller closes it with core.close.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "nsbox.h"

/*
 * core.lock(path [, how]) -> fd | nil, message, errno: a write lock on the
 * file at path, waited for; how: "new" makes the file and fails if it
 * exists, "create" makes it if missing, nil needs it to exist. A POSIX record lock,
 * which belongs to this process: a container cloned meanwhile does not hold
 * it, as it would hold a flock. It ends when any descriptor of ours for the
 * file is closed: the file is read and written through this one.
 */
static int l_lock(lua_State *L)
{
	struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	static const char *const hows[] = {"existing", "create", "new", NULL};
	static const int creating[] = {0, O_CREAT, O_CREAT | O_EXCL};
	int how = luaL_checkoption(L, 2, "existing", hows);
	int fd = open(luaL_checkstring(L, 1), O_RDWR | O_CLOEXEC | O_NOFOLLOW | creating[how], 0600);
	int rc;

	if (fd < 0)
		return nsbox_fail(L, "lock");
	while ((rc = fcntl(fd, F_SETLKW, &lock)) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		close_keeping_errno(fd, 0);
		return nsbox_fail(L, "lock");
	}
	lua_pushinteger(L, fd);
	return 1;
}

/* core.read_all(fd) -> the file's whole content | nil, message, errno. */
static int l_read_all(lua_State *L)
{
	int fd = (int)luaL_checkinteger(L, 1);
	luaL_Buffer b;
	off_t at = 0;
	ssize_t n;

	luaL_buffinit(L, &b);
	do {
		char *p = luaL_prepbuffer(&b);

		n = pread(fd, p, LUAL_BUFFERSIZE, at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return nsbox_fail(L, "read");
		luaL_addsize(&b, (size_t)n);
		at += n;
	} while (n != 0);
	luaL_pushresult(&b);
	return 1;
}

/* core.replace_all(fd, text) -> true | nil, message, errno: the file's content becomes text. */
static int l_replace_all(lua_State *L)
{
	int fd = (int)luaL_checkinteger(L, 1);
	size_t len, done = 0;
	const char *text = luaL_checklstring(L, 2, &len);

	if (ftruncate(fd, 0) < 0)
		return nsbox_fail(L, "truncate");
	while (done < len) {
		ssize_t n = pwrite(fd, text + done, len - done, (off_t)done);

		if (n < 0 && errno != EINTR)
			return nsbox_fail(L, "write");
		done += n > 0 ? (size_t)n : 0;
	}
	lua_pushboolean(L, 1);
	return 1;
}

/* core.close(fd): a descriptor core gave out as a number. */
static int l_close(lua_State *L)
{
	return nsbox_result(L, close((int)luaL_checkinteger(L, 1)), "close");
}

/* core.mkdir(path [, mode]) -> true | nil, message, errno (EEXIST when it exists). */
static int l_mkdir(lua_State *L)
{
	return nsbox_result(L, mkdir(luaL_checkstring(L, 1), (mode_t)luaL_optinteger(L, 2, 0700)), "mkdir");
}

/* core.chmod(path, mode) -> true | nil, message, errno: the mode exactly, whatever the umask made of it. */
static int l_chmod(lua_State *L)
{
	return nsbox_result(L, chmod(luaL_checkstring(L, 1), (mode_t)luaL_checkinteger(L, 2)), "chmod");
}

/*
 * core.mkdtemp(template) -> path | nil, message, errno: a new directory,
 * mode 0700, whose name is template with its last six X made random; a name
 * anyone else holds is never taken (mkdtemp retries on EEXIST).
 */
static int l_mkdtemp(lua_State *L)
{
	size_t len;
	const char *template = luaL_checklstring(L, 1, &len);
	char *path = lua_newuserdatauv(L, len + 1, 0);

	memcpy(path, template, len + 1);
	if (!mkdtemp(path))
		return nsbox_fail(L, template);
	lua_pushstring(L, path);
	return 1;
}

/*
 * core.dir_owner(path) -> uid, mode | nil, message, errno: the owner and
 * permission bits of the directory at path itself (ENOTDIR for anything
 * else, a symlink too).
 */
static int l_dir_owner(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct stat st;

	if (lstat(path, &st) < 0)
		return nsbox_fail(L, path);
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return nsbox_fail(L, path);
	}
	lua_pushinteger(L, st.st_uid);
	lua_pushinteger(L, st.st_mode & 07777);
	return 2;
}

void files_open(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"lock", l_lock},
		{"close", l_close},
		{"read_all", l_read_all},
		{"replace_all", l_replace_all},
		{"mkdir", l_mkdir},
		{"chmod", l_chmod},
		{"mkdtemp", l_mkdtemp},
		{"dir_owner", l_dir_owner},
		{NULL, NULL},
	};

	luaL_setfuncs(L, fns, 0);
}
