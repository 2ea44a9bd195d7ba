/*
 * The rootfs: resolving every target inside the new root (openat2
 * RESOLVE_IN_ROOT, so an absolute symlink in it stays in it), creating
 * mount points, directories, files and symlinks only on mounts the sandbox
 * made (compared by mount id), sysctls, and switching the root. All of it
 * runs in the child: raw syscalls, fixed buffers, no allocation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plan.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x4000U
#endif
#define NSBOX_RESOLVE_IN_ROOT 0x10ULL

/* The kernel's struct open_how. */
struct nsbox_open_how {
	uint64_t flags;   /* cppcheck-suppress unusedStructMember */
	uint64_t mode;    /* cppcheck-suppress unusedStructMember */
	uint64_t resolve; /* cppcheck-suppress unusedStructMember */
};

/* text[0..len) as a C string in buf ("." when empty, for the *at calls). */
static int copy_path(char buf[PATH_MAX], const char *text, size_t len)
{
	if (len >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, len ? text : ".", len ? len : 1);
	buf[len ? len : 1] = '\0';
	return 0;
}

/* The root the step's target is resolved in: target[0..root_len), or "/". */
static int open_root(const struct step *step)
{
	char root[PATH_MAX];

	if (copy_path(root, step->target, step->root_len) < 0)
		return -1;
	return open(step->root_len ? root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/*
 * target[root_len..end) opened inside the root: symlinks, absolute ones
 * included, resolve as they will for the command, never onto the host.
 */
static int open_in_root(int rootfd, const struct step *step, size_t end, int flags)
{
	struct nsbox_open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = NSBOX_RESOLVE_IN_ROOT};
	char path[PATH_MAX];
	int fd;

	if (copy_path(path, step->target + step->root_len, end - step->root_len) < 0)
		return -1;
	fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	/* Without openat2 (before Linux 5.6, or under valgrind) only "/" is a root plain lookup keeps to. */
	if (fd < 0 && errno == ENOSYS && step->root_len == 0)
		fd = openat(rootfd, path, flags | O_CLOEXEC);
	return fd;
}

/* The id of the mount fd lies on (a unique one where the kernel has them). */
static int mount_id(int fd, uint64_t *id)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID_UNIQUE, &stx) < 0)
		return -1;
	if (!(stx.stx_mask & (STATX_MNT_ID_UNIQUE | STATX_MNT_ID))) {
		errno = ENOSYS;
		return -1;
	}
	*id = stx.stx_mnt_id;
	return 0;
}

/* Remember the mount fd lies on as the sandbox's own. */
int rootfs_own(int fd, struct owned_mounts *owned)
{
	if (owned->n == NSBOX_OWNED_MAX) {
		errno = ENOSPC; /* the parent refuses such plans */
		return -1;
	}
	return mount_id(fd, &owned->ids[owned->n++]);
}

/* Creating in dirfd is allowed only on a mount the sandbox made: EXDEV otherwise. */
static int check_owned(int dirfd, const struct owned_mounts *owned)
{
	uint64_t id;

	if (mount_id(dirfd, &id) < 0)
		return -1;
	for (size_t i = 0; i < owned->n; i++)
		if (owned->ids[i] == id)
			return 0;
	errno = EXDEV;
	return -1;
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
static int open_dir(int dirfd, const char *name, mode_t mode, const struct owned_mounts *owned)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT || check_owned(dirfd, owned) < 0 || mkdirat(dirfd, name, mode) < 0 ||
		    fchmodat(dirfd, name, mode, 0) < 0)
			return -1;
	}
	/* A symlink is refused (ENOTDIR): what is created goes along real directories only. */
	return openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/*
 * Descend from the base (resolved inside the root) to the parent of the
 * target's last component, making missing directories on the way: its fd,
 * with the last component in name ("" when the target is the base itself).
 */
static int open_parent(const struct step *step, const struct owned_mounts *owned, char name[NAME_MAX + 1])
{
	const char *rest = step->target + step->base_len;
	int rootfd = open_root(step);
	int dirfd, len = 0;

	if (rootfd < 0)
		return -1;
	dirfd = open_in_root(rootfd, step, step->base_len, O_PATH | O_DIRECTORY);
	close_keeping_errno(rootfd, 0);
	name[0] = '\0';
	while (dirfd >= 0 && (len = next_name(&rest, name)) > 0 && !at_end(rest)) {
		int next = open_dir(dirfd, name, 0755, owned);

		close_keeping_errno(dirfd, 0);
		dirfd = next;
	}
	if (dirfd >= 0 && len < 0)
		return close_keeping_errno(dirfd, -1);
	return dirfd;
}

static int create_leaf(int dirfd, const char *name, enum step_create kind, const struct owned_mounts *owned)
{
	struct stat st;
	int fd;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOENT || check_owned(dirfd, owned) < 0)
		return -1;
	if (kind == CREATE_DIR)
		return mkdirat(dirfd, name, 0755);
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	return fd < 0 ? -1 : close_keeping_errno(fd, 0);
}

/* A missing mount point is made, a directory or an empty file. */
static int create_target(const struct step *step, const struct owned_mounts *owned, enum step_create kind)
{
	char name[NAME_MAX + 1];
	int dirfd = open_parent(step, owned, name);

	if (dirfd < 0)
		return -1;
	return close_keeping_errno(dirfd, name[0] ? create_leaf(dirfd, name, kind, owned) : 0);
}

/*
 * The step's target as an O_PATH fd, resolved inside its root; when
 * missing, made first if kind says what (CREATE_DIR or CREATE_FILE).
 */
int rootfs_open_target(const struct step *step, const struct owned_mounts *owned, enum step_create kind)
{
	size_t end = strlen(step->target);
	int rootfd = open_root(step);
	int fd;

	if (rootfd < 0)
		return -1;
	fd = open_in_root(rootfd, step, end, O_PATH);
	if (fd < 0 && errno == ENOENT && kind != CREATE_NONE && create_target(step, owned, kind) == 0)
		fd = open_in_root(rootfd, step, end, O_PATH);
	return close_keeping_errno(rootfd, fd);
}

static int make_dir(const struct step *step, const struct owned_mounts *owned)
{
	char name[NAME_MAX + 1];
	int dirfd = open_parent(step, owned, name);
	int fd;

	if (dirfd < 0 || name[0] == '\0')
		return dirfd < 0 ? -1 : close_keeping_errno(dirfd, 0);
	fd = open_dir(dirfd, name, step->mode, owned);
	close_keeping_errno(dirfd, 0);
	return fd < 0 ? -1 : close_keeping_errno(fd, 0);
}

/*
 * The write_file step: the content is the parent's copy of the string, in
 * step->source. An existing file is rewritten only if it lies on an owned
 * mount too: it may be a bind of a host file.
 */
static int write_owned_file(const struct step *step, const struct owned_mounts *owned)
{
	char name[NAME_MAX + 1];
	int dirfd = open_parent(step, owned, name);
	int fd, rc;

	if (dirfd < 0)
		return -1;
	fd = check_owned(dirfd, owned) < 0 ? -1
		: openat(dirfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, step->mode);
	close_keeping_errno(dirfd, 0);
	if (fd < 0)
		return -1;
	rc = check_owned(fd, owned) < 0 || ftruncate(fd, 0) < 0 || fchmod(fd, step->mode) < 0 ? -1
		: write_all(fd, step->source);
	return close_keeping_errno(fd, rc);
}

static int make_symlink(const struct step *step, const struct owned_mounts *owned)
{
	char name[NAME_MAX + 1];
	int dirfd = open_parent(step, owned, name);

	if (dirfd < 0)
		return -1;
	return close_keeping_errno(dirfd, check_owned(dirfd, owned) < 0 ? -1 : symlinkat(step->source, dirfd, name));
}

/* A sysctl: its file under the sandbox's /proc, found inside the root, and no file bound over it. */
static int write_sysctl(const struct step *step)
{
	int rootfd = open_root(step);
	struct statfs st;
	int fd, rc;

	if (rootfd < 0)
		return -1;
	fd = open_in_root(rootfd, step, strlen(step->target), O_WRONLY | O_NOFOLLOW);
	close_keeping_errno(rootfd, 0);
	if (fd < 0)
		return -1;
	rc = fstatfs(fd, &st);
	if (rc == 0 && st.f_type != PROC_SUPER_MAGIC) {
		errno = EXDEV;
		rc = -1;
	}
	return close_keeping_errno(fd, rc < 0 ? -1 : write_all(fd, step->source));
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

int rootfs_run_step(const struct step *step, struct owned_mounts *owned)
{
	switch (step->op) {
	case STEP_MKDIR:
		return make_dir(step, owned);
	case STEP_WRITE_FILE:
		return write_owned_file(step, owned);
	case STEP_SYMLINK:
		return make_symlink(step, owned);
	case STEP_SYSCTL:
		return write_sysctl(step);
	case STEP_PIVOT_ROOT:
		return pivot_into(step->target);
	case STEP_CHROOT:
		return chroot_into(step->target);
	default:
		errno = EINVAL;
		return -1;
	}
}
