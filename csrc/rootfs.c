/*
 * The rootfs: creating mount points, directories, files and symlinks inside
 * a tree the recipe trusts, masking paths, sysctls, and switching the root.
 * Everything below the parent-side reader runs in the child: raw syscalls,
 * fixed buffers, no allocation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <lauxlib.h>

#include "nsbox.h"

/* The step's "create" field: what to make at its target when missing. */
enum step_create rootfs_read_create(lua_State *L, int idx)
{
	static const char *const names[] = {"none", "dir", "file", "like_source", NULL};
	enum step_create kind;

	lua_getfield(L, idx, "create");
	kind = (enum step_create)luaL_checkoption(L, -1, "none", names);
	lua_pop(L, 1);
	return kind;
}

/* ---- child side: async-signal-safe from here on ---- */

static int close_keeping_errno(int fd, int rc)
{
	int err = errno;

	close(fd);
	errno = err;
	return rc;
}

/* The base, target[0..base_len): a path the recipe gave, so symlinks in it are its own choice. */
static int open_base(const struct step *step)
{
	char base[PATH_MAX];

	if (step->base_len >= sizeof(base)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(base, step->target, step->base_len);
	base[step->base_len] = '\0';
	return open(step->base_len ? base : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* The next component of *rest into name: its length, 0 at the end, -1 when too long. */
static int next_name(const char **rest, char name[NAME_MAX + 1])
{
	const char *p = *rest;
	const char *end;
	size_t len;

	while (*p == '/')
		p++;
	end = strchrnul(p, '/');
	len = (size_t)(end - p);
	if (len > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(name, p, len);
	name[len] = '\0';
	*rest = end;
	return (int)len;
}

static bool at_end(const char *rest)
{
	while (*rest == '/')
		rest++;
	return *rest == '\0';
}

/* The directory name under dirfd, made when missing (with exactly mode, whatever the umask). */
static int open_dir(int dirfd, const char *name, mode_t mode)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT || mkdirat(dirfd, name, mode) < 0 || fchmodat(dirfd, name, mode, 0) < 0)
			return -1;
	}
	/* A symlink is refused (ENOTDIR): an absolute one would lead out onto the host's tree. */
	return openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/*
 * Descend from the base to the parent of the target's last component,
 * making missing directories on the way: its fd, with the last component
 * in name ("" when the target is the base itself).
 */
static int open_parent(const struct step *step, char name[NAME_MAX + 1])
{
	const char *rest = step->target + step->base_len;
	int dirfd = open_base(step);
	int len = 0;

	name[0] = '\0';
	while (dirfd >= 0 && (len = next_name(&rest, name)) > 0 && !at_end(rest)) {
		int next = open_dir(dirfd, name, 0755);

		close_keeping_errno(dirfd, 0);
		dirfd = next;
	}
	if (dirfd >= 0 && len < 0)
		return close_keeping_errno(dirfd, -1);
	return dirfd;
}

static int create_leaf(int dirfd, const char *name, enum step_create kind)
{
	struct stat st;
	int fd;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (kind == CREATE_DIR)
		return mkdirat(dirfd, name, 0755);
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	return fd < 0 ? -1 : close_keeping_errno(fd, 0);
}

/* A missing mount point is made, a directory or an empty file (like the bind's source). */
int rootfs_prepare_target(const struct step *step, enum step_create kind)
{
	char name[NAME_MAX + 1];
	struct stat st;
	int dirfd;

	if (kind == CREATE_NONE)
		return 0;
	if (kind == CREATE_LIKE_SOURCE) {
		if (stat(step->source, &st) < 0)
			return -1;
		kind = S_ISDIR(st.st_mode) ? CREATE_DIR : CREATE_FILE;
	}
	dirfd = open_parent(step, name);
	if (dirfd < 0)
		return -1;
	return close_keeping_errno(dirfd, name[0] ? create_leaf(dirfd, name, kind) : 0);
}

static int write_all(int fd, const char *text)
{
	size_t left = strlen(text);

	while (left > 0) {
		ssize_t n = write(fd, text, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		text += n;
		left -= (size_t)n;
	}
	return 0;
}

static int make_dir(const struct step *step)
{
	char name[NAME_MAX + 1];
	int dirfd = open_parent(step, name);
	int fd;

	if (dirfd < 0 || name[0] == '\0')
		return dirfd < 0 ? -1 : close_keeping_errno(dirfd, 0);
	fd = open_dir(dirfd, name, step->mode);
	close_keeping_errno(dirfd, 0);
	return fd < 0 ? -1 : close_keeping_errno(fd, 0);
}

/* The content is the parent's copy of the string, in step->source. */
static int write_file(const struct step *step)
{
	char name[NAME_MAX + 1];
	int dirfd = open_parent(step, name);
	int fd, rc;

	if (dirfd < 0)
		return -1;
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, step->mode);
	close_keeping_errno(dirfd, 0);
	if (fd < 0)
		return -1;
	rc = fchmod(fd, step->mode) < 0 ? -1 : write_all(fd, step->source);
	return close_keeping_errno(fd, rc);
}

static int make_symlink(const struct step *step)
{
	char name[NAME_MAX + 1];
	int dirfd = open_parent(step, name);

	if (dirfd < 0)
		return -1;
	return close_keeping_errno(dirfd, symlinkat(step->source, dirfd, name));
}

/* OCI's maskedPaths: /dev/null over a file, an empty read-only tmpfs over a directory. */
static int mask(const struct step *step)
{
	struct stat st;

	if (stat(step->target, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (S_ISDIR(st.st_mode))
		return mount("tmpfs", step->target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k");
	return mount(step->source, step->target, NULL, MS_BIND, NULL);
}

/* Write text into an existing file: sysctls, time offsets. */
int rootfs_write_path(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -1;
	return close_keeping_errno(fd, write_all(fd, text));
}

/*
 * pivot_root(".", ".") stacks the old root under the new one, where a lazy
 * unmount takes it away: no directory for it is needed in the rootfs.
 */
static int pivot_into(const char *root)
{
	if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0)
		return -1;
	return chdir("/");
}

/* Weaker than pivot_root: the old root stays mounted, reachable by whoever may chroot again. */
static int chroot_into(const char *root)
{
	if (chdir(root) < 0 || chroot(".") < 0)
		return -1;
	return chdir("/");
}

int rootfs_run_step(const struct step *step)
{
	switch (step->op) {
	case STEP_MKDIR:
		return make_dir(step);
	case STEP_WRITE_FILE:
		return write_file(step);
	case STEP_SYMLINK:
		return make_symlink(step);
	case STEP_MASK:
		return mask(step);
	case STEP_SYSCTL:
		return rootfs_write_path(step->target, step->source);
	case STEP_PIVOT_ROOT:
		return pivot_into(step->target);
	case STEP_CHROOT:
		return chroot_into(step->target);
	case STEP_REMOUNT_RO:
		return mount_remount_readonly(step->target);
	default:
		errno = EINVAL;
		return -1;
	}
}
