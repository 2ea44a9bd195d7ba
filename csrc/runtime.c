/*
 * The OCI runtime's system calls (lua/nsbox/runtime.lua drives them): a
 * container parked before exec, released by `start`; the lock on a
 * container's state; the console socket; signals and waits for processes
 * that are not our children.
 *
 * Parking (the child's side is park.c): create clones the container with its
 * own copy of our memory (no CLONE_VM: create exits while the container
 * lives on) and a listening unix socket, exec.sock in the container's state
 * directory. start connects to it, and reads EOF when the exec happened, or
 * the child's (step, errno) when it failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <lauxlib.h>

#include "nsbox.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/*
 * A unix socket address for dir/name however long dir is: through the
 * directory's descriptor, /proc/self/fd/N/name (sun_path holds 108 bytes;
 * containerd's state paths come close). *dirfd is closed by the caller.
 */
static int socket_address(const char *path, struct sockaddr_un *sa, int *dirfd)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];

	*dirfd = -1;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) < sizeof(sa->sun_path)) {
		memcpy(sa->sun_path, path, strlen(path) + 1);
		return 0;
	}
	if (slash == NULL || (size_t)(slash - path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if ((*dirfd = open(dir[0] ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	if ((size_t)snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", *dirfd, slash + 1) >=
	    sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* A socket connected (or, listening, bound) to path, or -1 with errno set. */
static int unix_socket(const char *path, bool listening)
{
	struct sockaddr_un sa;
	int dirfd, fd = -1, rc = -1;

	if (socket_address(path, &sa, &dirfd) == 0 && (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
		if (listening)
			rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? listen(fd, 1) : -1;
		else
			rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	}
	if (rc < 0 && fd >= 0)
		fd = close_keeping_errno(fd, -1);
	if (dirfd >= 0)
		close_keeping_errno(dirfd, 0);
	return fd;
}

/* core.park_socket(path) -> fd | nil, message, errno: where a parked container waits for start. */
static int l_park_socket(lua_State *L)
{
	int fd = unix_socket(luaL_checkstring(L, 1), true);

	if (fd < 0)
		return nsbox_fail(L, "bind the exec socket");
	lua_pushinteger(L, fd);
	return 1;
}

/*
 * core.release(path) -> true | nil, message, errno: let the container
 * parked at path exec; true once it has.
 */
static int l_release(lua_State *L)
{
	struct child_report report;
	int fd = unix_socket(luaL_checkstring(L, 1), false);
	ssize_t n;

	if (fd < 0)
		return nsbox_fail(L, "reach the parked container");
	do
		n = read(fd, &report, sizeof(report));
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n == 0) {
		lua_pushboolean(L, 1);
		return 1;
	}
	errno = n == (ssize_t)sizeof(report) ? report.err : EPIPE;
	return nsbox_fail(L, "exec");
}

/*
 * core.send_fd(socket_path, file) -> true | nil, message, errno: the
 * console socket gets the terminal's master (a Lua file).
 */
static int l_send_fd(lua_State *L)
{
	const luaL_Stream *stream = luaL_checkudata(L, 2, LUA_FILEHANDLE);
	int passed, fd;

	luaL_argcheck(L, stream->closef != NULL, 2, "closed file");
	passed = fileno(stream->f);
	fd = unix_socket(luaL_checkstring(L, 1), false);
	struct fd_message m;
	int rc;

	if (fd < 0)
		return nsbox_fail(L, "connect to the console socket");
	fd_message_init(&m);
	memcpy(CMSG_DATA(CMSG_FIRSTHDR(&m.msg)), &passed, sizeof(int));
	rc = sendmsg(fd, &m.msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
	close_keeping_errno(fd, 0);
	return nsbox_result(L, rc, "send the terminal to the console socket");
}

/* core.realpath(path) -> absolute path | nil, message, errno. */
static int l_realpath(lua_State *L)
{
	char *path = realpath(luaL_checkstring(L, 1), NULL);

	if (path == NULL)
		return nsbox_fail(L, lua_tostring(L, 1));
	lua_pushstring(L, path);
	free(path);
	return 1;
}

/* core.kill(pid, signal) -> true | nil, message, errno. */
static int l_kill(lua_State *L)
{
	return nsbox_result(L, kill((pid_t)luaL_checkinteger(L, 1), (int)luaL_checkinteger(L, 2)), "kill");
}

/*
 * core.wait_gone(pid, milliseconds) -> true when pid has ended (a zombie
 * counts) within the time, false otherwise: for processes not our children.
 */
static int l_wait_gone(lua_State *L)
{
	pid_t pid = (pid_t)luaL_checkinteger(L, 1);
	int ms = (int)luaL_checkinteger(L, 2);
	struct pollfd pfd = {.events = POLLIN};
	int rc;

	pfd.fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd.fd < 0) {
		lua_pushboolean(L, errno == ESRCH);
		return 1;
	}
	while ((rc = poll(&pfd, 1, ms)) < 0 && errno == EINTR)
		;
	close(pfd.fd);
	lua_pushboolean(L, rc > 0);
	return 1;
}

void runtime_open(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"park_socket", l_park_socket},
		{"release", l_release},
		{"send_fd", l_send_fd},
		{"realpath", l_realpath},
		{"kill", l_kill},
		{"wait_gone", l_wait_gone},
		{NULL, NULL},
	};

	luaL_setfuncs(L, fns, 0);
}
