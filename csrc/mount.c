/*
 * Mounts: option parsing in the parent, the core.mount/core.umount wrappers,
 * and the mount steps a child runs (raw syscalls only).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <lauxlib.h>

#include "nsbox.h"

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#define NSBOX_MOUNT_ATTR_RDONLY 0x1ULL
#define NSBOX_MOUNT_ATTR_NODEV 0x4ULL

/* The kernel's struct mount_attr; <linux/mount.h> clashes with <sys/mount.h> on older glibc. */
struct nsbox_mount_attr {
	uint64_t attr_set;    /* cppcheck-suppress unusedStructMember */
	uint64_t attr_clr;    /* cppcheck-suppress unusedStructMember */
	uint64_t propagation; /* cppcheck-suppress unusedStructMember */
	uint64_t userns_fd;   /* cppcheck-suppress unusedStructMember */
};

/* mount(8)'s flag words; "rw", "suid" and the like clear what others set. */
static const struct mount_option {
	const char *name;
	unsigned long set;
	unsigned long clear;
} mount_options[] = {
	{"defaults", 0, 0},
	{"ro", MS_RDONLY, 0},
	{"rw", 0, MS_RDONLY},
	{"nosuid", MS_NOSUID, 0},
	{"suid", 0, MS_NOSUID},
	{"nodev", MS_NODEV, 0},
	{"dev", 0, MS_NODEV},
	{"noexec", MS_NOEXEC, 0},
	{"exec", 0, MS_NOEXEC},
	{"sync", MS_SYNCHRONOUS, 0},
	{"async", 0, MS_SYNCHRONOUS},
	{"dirsync", MS_DIRSYNC, 0},
	{"remount", MS_REMOUNT, 0},
	{"bind", MS_BIND, 0},
	{"rbind", MS_BIND | MS_REC, 0},
	{"move", MS_MOVE, 0},
	{"rec", MS_REC, 0},
	{"silent", MS_SILENT, 0},
	{"private", MS_PRIVATE, 0},
	{"rprivate", MS_PRIVATE | MS_REC, 0},
	{"slave", MS_SLAVE, 0},
	{"rslave", MS_SLAVE | MS_REC, 0},
	{"shared", MS_SHARED, 0},
	{"rshared", MS_SHARED | MS_REC, 0},
	{"unbindable", MS_UNBINDABLE, 0},
	{"runbindable", MS_UNBINDABLE | MS_REC, 0},
	{"noatime", MS_NOATIME, 0},
	{"atime", 0, MS_NOATIME},
	{"nodiratime", MS_NODIRATIME, 0},
	{"diratime", 0, MS_NODIRATIME},
	{"relatime", MS_RELATIME, 0},
	{"norelatime", 0, MS_RELATIME},
	{"strictatime", MS_STRICTATIME, 0},
	{"lazytime", MS_LAZYTIME, 0},
	{NULL, 0, 0},
};

static void add_option(const char *word, size_t len, unsigned long *flags, luaL_Buffer *data)
{
	for (const struct mount_option *o = mount_options; o->name; o++) {
		if (strlen(o->name) == len && memcmp(o->name, word, len) == 0) {
			*flags = (*flags & ~o->clear) | o->set;
			return;
		}
	}
	if (len == 0)
		return;
	/* Anything else is the filesystem's business, as with mount -o. */
	if (luaL_bufflen(data) > 0)
		luaL_addchar(data, ',');
	luaL_addlstring(data, word, len);
}

static void add_option_list(const char *text, unsigned long *flags, luaL_Buffer *data)
{
	const char *comma;

	while ((comma = strchr(text, ',')) != NULL) {
		add_option(text, (size_t)(comma - text), flags, data);
		text = comma + 1;
	}
	add_option(text, strlen(text), flags, data);
}

/* Options are nil, "nosuid,size=1m" or a list of such strings. */
void mount_parse_flags(lua_State *L, int idx, unsigned long *flags, const char **data_out)
{
	luaL_Buffer data;
	int type = lua_type(L, idx);

	idx = lua_absindex(L, idx);
	*flags = 0;
	luaL_argexpected(L, type == LUA_TNONE || type == LUA_TNIL || type == LUA_TSTRING || type == LUA_TTABLE,
			 idx, "string, list of strings or nil");
	luaL_buffinit(L, &data);
	if (type == LUA_TSTRING) {
		add_option_list(lua_tostring(L, idx), flags, &data);
	} else if (type == LUA_TTABLE) {
		for (lua_Integer i = 1; lua_geti(L, idx, i) != LUA_TNIL; i++) {
			const char *word = lua_tostring(L, -1);

			if (word == NULL) {
				luaL_error(L, "mount option #%d: expected a string, got %s", (int)i, luaL_typename(L, -1));
				return;
			}
			lua_pop(L, 1); /* anchored by the table */
			add_option_list(word, flags, &data);
		}
		lua_pop(L, 1);
	}
	if (luaL_bufflen(&data) == 0) {
		luaL_pushresult(&data);
		lua_pop(L, 1);
		lua_pushnil(L);
		*data_out = NULL;
	} else {
		luaL_pushresult(&data);
		*data_out = lua_tostring(L, -1);
	}
}

/* core.mount(source, target, fstype, options) -> true | nil, message, errno */
static int l_mount(lua_State *L)
{
	const char *source = luaL_optstring(L, 1, NULL);
	const char *target = luaL_checkstring(L, 2);
	const char *fstype = luaL_optstring(L, 3, NULL);
	unsigned long flags;
	const char *data;

	mount_parse_flags(L, 4, &flags, &data);
	lua_pushfstring(L, "mount %s", target);
	return nsbox_result(L, mount(source, target, fstype, flags, data), lua_tostring(L, -1));
}

/* core.umount(target, options) with options among detach, force, expire, nofollow. */
static int l_umount(lua_State *L)
{
	static const char *const names[] = {"detach", "force", "expire", "nofollow", NULL};
	static const int values[] = {MNT_DETACH, MNT_FORCE, MNT_EXPIRE, UMOUNT_NOFOLLOW};
	const char *target = luaL_checkstring(L, 1);
	int flags = 0;

	if (lua_istable(L, 2)) {
		for (lua_Integer i = 1; lua_geti(L, 2, i) != LUA_TNIL; i++)
			flags |= values[luaL_checkoption(L, -1, NULL, names)];
	} else if (!lua_isnoneornil(L, 2)) {
		flags = values[luaL_checkoption(L, 2, NULL, names)];
	}
	lua_pushfstring(L, "umount %s", target);
	return nsbox_result(L, umount2(target, flags), lua_tostring(L, -1));
}

/*
 * core.same_file(a, b) -> true|false | nil, message, errno: whether two
 * paths name one file (device and inode), e.g. a rootfs that is the host's /.
 */
static int l_same_file(lua_State *L)
{
	const char *a = luaL_checkstring(L, 1);
	const char *b = luaL_checkstring(L, 2);
	struct stat sa, sb;

	if (stat(a, &sa) < 0)
		return nsbox_fail(L, a);
	if (stat(b, &sb) < 0)
		return nsbox_fail(L, b);
	lua_pushboolean(L, sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
	return 1;
}

void mount_open(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"mount", l_mount},
		{"umount", l_umount},
		{"same_file", l_same_file},
		{NULL, NULL},
	};

	luaL_setfuncs(L, fns, 0);
}

/* ---- child side: async-signal-safe from here on ---- */

/* "/proc/self/fd/N" into buf. */
static void fd_path(char buf[32], int fd)
{
	static const char prefix[] = "/proc/self/fd/";
	char digits[12];
	size_t n = 0;

	do
		digits[n++] = (char)('0' + fd % 10);
	while ((fd /= 10) > 0);
	memcpy(buf, prefix, sizeof(prefix) - 1);
	for (size_t i = 0; i < n; i++)
		buf[sizeof(prefix) - 1 + i] = digits[n - 1 - i];
	buf[sizeof(prefix) - 1 + n] = '\0';
}

/*
 * mount(2) onto what fd is: a directory by way of the working directory
 * (which needs no /proc), anything else through /proc/self/fd; the working
 * directory is put back. With onto_itself, fd is the source too (a bind).
 */
static int mount_fd(int fd, const char *source, bool onto_itself, const char *fstype, unsigned long flags,
		    const void *data)
{
	int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char path[32];
	const char *where = path;
	int rc;

	if (cwd < 0)
		return -1;
	if (fchdir(fd) == 0)
		where = ".";
	else
		fd_path(path, fd);
	rc = mount(onto_itself ? where : source, where, fstype, flags, data);
	if (fchdir(cwd) < 0)
		rc = -1;
	return close_keeping_errno(cwd, rc);
}

int mount_on(int fd, const char *source, const char *fstype, unsigned long flags, const void *data)
{
	return mount_fd(fd, source, false, fstype, flags, data);
}

/*
 * A remount of the mount at fd adding flags. It must repeat the flags the
 * mount already has: inside a user namespace the kernel refuses to clear
 * locked ones (nosuid, nodev, noexec, atime).
 */
static int remount_adding(int fd, unsigned long flags)
{
	const unsigned long kept = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME;
	struct statfs st;

	if (fstatfs(fd, &st) < 0)
		return -1;
	return mount_on(fd, NULL, NULL, MS_BIND | MS_REMOUNT | flags | ((unsigned long)st.f_flags & kept), NULL);
}

int mount_set_readonly(int fd)
{
	return remount_adding(fd, MS_RDONLY);
}

/*
 * Attributes of the bind at fd: a single mount is remounted; a recursive
 * bind gets them on every submount at once, with no fallback that would
 * leave one writable or with devices.
 */
static int set_bind_attributes(const struct step *step, int fd)
{
	unsigned long flags = (step->readonly ? MS_RDONLY : 0) | (step->flags & MS_NODEV);
	struct nsbox_mount_attr attr = {
		.attr_set = (step->readonly ? NSBOX_MOUNT_ATTR_RDONLY : 0) |
			    ((step->flags & MS_NODEV) ? NSBOX_MOUNT_ATTR_NODEV : 0),
	};

	if (!step->recursive)
		return remount_adding(fd, flags);
	return (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr));
}

static bool has_bind_attributes(const struct step *step)
{
	return step->readonly || (step->flags & MS_NODEV);
}

/* The new mount, found again at the target: its attributes, and whether the sandbox owns it. */
static int finish_mount(const struct step *step, struct owned_mounts *owned, bool bind)
{
	int top = rootfs_open_target(step, owned, CREATE_NONE);
	int rc;

	if (top < 0)
		return -1;
	rc = bind && has_bind_attributes(step) ? set_bind_attributes(step, top) : 0;
	if (rc == 0 && step->owned)
		rc = rootfs_own(top, owned);
	return close_keeping_errno(top, rc);
}

int mount_run_step(const struct step *step, struct owned_mounts *owned)
{
	int fd = rootfs_open_target(step, owned, step->create);
	int rc;

	if (fd < 0)
		return -1;
	rc = close_keeping_errno(fd, mount_on(fd, step->source, step->fstype, step->flags, step->data));
	return rc < 0 || !step->owned ? rc : finish_mount(step, owned, false);
}

/* A missing mount point is made like the source: a directory or an empty file. */
static enum step_create like_source(const struct step *step)
{
	struct stat st;

	if (step->create != CREATE_LIKE_SOURCE)
		return step->create;
	if (stat(step->source, &st) < 0)
		return CREATE_DIR; /* the bind fails the same way, with its own errno */
	return S_ISDIR(st.st_mode) ? CREATE_DIR : CREATE_FILE;
}

/*
 * A bind of the source onto the target; without a source (readonly paths)
 * of the target onto itself, as found inside the root.
 */
int mount_run_bind(const struct step *step, struct owned_mounts *owned)
{
	unsigned long flags = MS_BIND | (step->recursive ? MS_REC : 0);
	struct stat st;
	int fd, rc;

	if (step->optional && step->source && stat(step->source, &st) < 0 && errno == ENOENT)
		return 0;
	fd = rootfs_open_target(step, owned, step->source ? like_source(step) : CREATE_NONE);
	if (fd < 0)
		return step->optional && !step->source && errno == ENOENT ? 0 : -1;
	rc = close_keeping_errno(fd, mount_fd(fd, step->source, step->source == NULL, NULL, flags, NULL));
	return rc < 0 || !(step->owned || has_bind_attributes(step)) ? rc : finish_mount(step, owned, true);
}
