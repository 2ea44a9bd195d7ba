/*
 * Mounts: the words of mount(8)'s options (which the parent reads into a
 * plan), and the steps that mount something, run by the child with raw
 * syscalls only: mount, bind, mask, remount_ro. Their targets are found
 * (and made) by rootfs.c.
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

#include "plan.h"

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

/* mount(8)'s flag words; "rw", "suid" and the like clear what others set. A name table (plan.h). */
static const struct mount_option {
	const char *name; /* cppcheck-suppress unusedStructMember ; read by find_row */
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

/* Whether word[0..len) is one of the words above; if so, into *flags. */
bool mount_option(const char *word, size_t len, unsigned long *flags)
{
	int i = find_row(mount_options, sizeof(mount_options[0]), word, len);

	if (i < 0)
		return false;
	*flags = (*flags & ~mount_options[i].clear) | mount_options[i].set;
	return true;
}

/* "/proc/self/fd/N" into buf. */
static void fd_path(char buf[32], int fd)
{
	static const char prefix[] = "/proc/self/fd/";
	char digits[12];
	const char *number = decimal(digits, (unsigned int)fd);

	memcpy(buf, prefix, sizeof(prefix) - 1);
	memcpy(buf + sizeof(prefix) - 1, number, strlen(number) + 1);
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

static int mount_on(int fd, const char *source, const char *fstype, unsigned long flags, const void *data)
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

static int mount_fs(const struct step *step, struct owned_mounts *owned)
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
static int bind_mount(const struct step *step, struct owned_mounts *owned)
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

/*
 * OCI's maskedPaths: /dev/null over a file, an empty read-only tmpfs over a
 * directory. Only a path missing inside the root is skipped: whatever else
 * keeps it from being masked is an error.
 */
static int mask(const struct step *step, const struct owned_mounts *owned)
{
	int fd = rootfs_open_target(step, owned, CREATE_NONE);
	struct stat st;
	int rc;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) < 0)
		rc = -1;
	else if (S_ISDIR(st.st_mode))
		rc = mount_on(fd, "tmpfs", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k");
	else
		rc = mount_on(fd, step->source, NULL, MS_BIND, NULL);
	return close_keeping_errno(fd, rc);
}

static int remount_readonly(const struct step *step, const struct owned_mounts *owned)
{
	int fd = rootfs_open_target(step, owned, CREATE_NONE);

	return fd < 0 ? -1 : close_keeping_errno(fd, remount_adding(fd, MS_RDONLY));
}

int mount_run_step(const struct step *step, struct owned_mounts *owned)
{
	switch (step->op) {
	case STEP_MOUNT:
		return mount_fs(step, owned);
	case STEP_BIND:
		return bind_mount(step, owned);
	case STEP_MASK:
		return mask(step, owned);
	case STEP_REMOUNT_RO:
		return remount_readonly(step, owned);
	default:
		errno = EINVAL;
		return -1;
	}
}
