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

void mount_open(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"mount", l_mount},
		{"umount", l_umount},
		{NULL, NULL},
	};

	luaL_setfuncs(L, fns, 0);
}

/* ---- child side: async-signal-safe from here on ---- */

int mount_run_step(const struct step *step)
{
	if (rootfs_prepare_target(step, step->create) < 0)
		return -1;
	return mount(step->source, step->target, step->fstype, step->flags, step->data);
}

/*
 * A remount adding flags to a bind. It must repeat the flags the mount
 * already has: inside a user namespace the kernel refuses to clear locked
 * ones (nosuid, nodev, noexec, atime).
 */
static int remount_adding(const char *target, unsigned long flags)
{
	const unsigned long kept = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME;
	struct statfs st;

	if (statfs(target, &st) < 0)
		return -1;
	return mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | flags | ((unsigned long)st.f_flags & kept), NULL);
}

int mount_remount_readonly(const char *target)
{
	return remount_adding(target, MS_RDONLY);
}

/*
 * Attributes of the bind: a single mount is remounted; a recursive bind gets
 * them on every submount at once, with no fallback that would leave one
 * writable or with devices.
 */
static int set_bind_attributes(const struct step *step)
{
	unsigned long flags = (step->readonly ? MS_RDONLY : 0) | (step->flags & MS_NODEV);
	struct nsbox_mount_attr attr = {
		.attr_set = (step->readonly ? NSBOX_MOUNT_ATTR_RDONLY : 0) |
			    ((step->flags & MS_NODEV) ? NSBOX_MOUNT_ATTR_NODEV : 0),
	};

	if (flags == 0)
		return 0;
	if (!step->recursive)
		return remount_adding(step->target, flags);
	return (int)syscall(SYS_mount_setattr, AT_FDCWD, step->target, AT_RECURSIVE, &attr, sizeof(attr));
}

int mount_run_bind(const struct step *step)
{
	struct stat st;

	if (step->optional && stat(step->source, &st) < 0 && errno == ENOENT)
		return 0;
	if (rootfs_prepare_target(step, step->create) < 0)
		return -1;
	if (mount(step->source, step->target, NULL, MS_BIND | (step->recursive ? MS_REC : 0), NULL) < 0)
		return -1;
	return set_bind_attributes(step);
}
