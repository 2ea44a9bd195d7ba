/*
 * nsbox: declarations shared by the C files of the nsbox.core module.
 *
 * A plan is built in the parent (plan.c) and only read in the child
 * (child.c, mount.c, net.c): every string it points to is anchored by the
 * plan's Lua userdata, so the child, which runs on a copy of the parent's
 * memory, can use it without allocating anything.
 */
#ifndef NSBOX_H
#define NSBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <lua.h>

#define NSBOX_PLAN_MT "nsbox.plan"
#define NSBOX_PROCESS_MT "nsbox.process"

/* In the order of step_op_names (plan.c). */
enum step_op {
	STEP_HOSTNAME,
	STEP_DOMAINNAME,
	STEP_MOUNT,
	STEP_BIND,
	STEP_LOOPBACK,
	STEP_CHDIR,
	STEP_RLIMIT,
	STEP_DROP_BOUNDING,
	STEP_IDENTITY,
	STEP_CAPS,
	STEP_NO_NEW_PRIVS,
	STEP_DIE_WITH_PARENT,
	STEP_UMASK,
	STEP_JOIN,
	STEP_UNSHARE,
	STEP_TIME_OFFSETS,
	STEP_FORK,
	STEP_MKDIR,
	STEP_WRITE_FILE,
	STEP_SYMLINK,
	STEP_MASK,
	STEP_SYSCTL,
	STEP_PIVOT_ROOT,
	STEP_CHROOT,
	STEP_REMOUNT_RO,
	STEP_DROP_CAPS,
};

struct caps_plan;

/* One step of a plan; which fields matter depends on op. */
struct step {
	enum step_op op;
	const char *desc;   /* "mount tmpfs on /tmp": names the step in errors */
	const char *source; /* hostname, domain name, mount or bind source (a bind without: the target itself) */
	const char *target; /* mount point, directory */
	const char *fstype;
	const char *data;
	unsigned long flags; /* MS_* for mounts */
	bool optional;       /* bind: skip when the source does not exist */
	bool readonly;       /* bind: make the bind (and its submounts) read-only */
	bool recursive;      /* bind: include submounts */
	const struct caps_plan *caps; /* drop_bounding, caps */
	uint64_t cap_mask;   /* drop_caps: the capabilities taken out of every set */
	int resource;        /* rlimit: RLIMIT_* */
	rlim_t soft, hard;
	uid_t uid;           /* identity */
	gid_t gid;
	const gid_t *groups;
	int ngroups;         /* -1: drop supplementary groups where permitted */
	bool keep_caps;      /* identity: permitted capabilities survive the switch */
	mode_t mode;         /* umask */
	int nstypes;         /* join, unshare: CLONE_NEW* */
	pid_t pid;           /* join: the process whose namespaces to enter, or 0 */
	const void *stream;  /* join: a luaL_Stream holding a namespace fd, or NULL */
	size_t root_len;     /* mounts, rootfs steps: target[root_len..] is resolved inside target[0..root_len) */
	size_t base_len;     /* target[root_len..base_len) is resolved too (inside the root); the rest is */
	enum step_create {   /* created without following symlinks */
		CREATE_NONE, CREATE_DIR, CREATE_FILE, CREATE_LIKE_SOURCE,
	} create;
	bool owned;          /* mount, bind: the sandbox's own mount (rootfs, tmpfs, dev): creating in it is allowed */
};

/* The most mounts a plan may own (its rootfs, tmpfs and dev mounts). */
#define NSBOX_OWNED_MAX 128

/*
 * Child side, on the child's own stack: the mount ids of the mounts the
 * plan made, the only ones where anything may be created.
 */
struct owned_mounts {
	size_t n;
	uint64_t ids[NSBOX_OWNED_MAX];
};

enum setgroups_policy {
	SETGROUPS_AUTO,  /* deny only when the parent may not write gid_map otherwise */
	SETGROUPS_DENY,
	SETGROUPS_ALLOW,
};

struct plan {
	int clone_flags;
	const char *uid_map; /* text for /proc/PID/uid_map, or NULL */
	const char *gid_map;
	enum setgroups_policy setgroups;
	bool init;            /* a reaper stays PID 1 and runs the command as its child */
	bool die_with_parent; /* also for the process that a fork step leaves behind */
	bool new_session;     /* a session of its own even for an interactive job */
	const char *argv0;    /* NULL, or the command's argv[0] when it differs from the name looked up */
	bool supervised;      /* init or a fork step: nsbox-init stays, telling the command's status through a pipe */
	size_t nsteps;
	struct step steps[];
};

/* What a failing child writes to the parent before _exit. */
struct child_report {
	int32_t step; /* index into plan->steps, or one of the REPORT_* after them */
	int32_t err;
};

/* Report steps past the plan's own: plan->nsteps + REPORT_EXEC, ... */
enum { REPORT_EXEC = 0, REPORT_INIT = 1, REPORT_SESSION = 2, REPORT_FDS = 3, REPORT_TTY = 4 };

/* The most descriptors a spawn passes to the command (its stdin, stdout, stderr, fds). */
#define NSBOX_MAX_FDS 64

/* The child, the relay's child and the command under its init each run on a stack of their own. */
#define NSBOX_CHILD_STACKS 3

struct child_args {
	const struct plan *plan;
	const char *file; /* the command, looked up in PATH: argv[0] unless the plan gives another */
	char *const *argv;
	char *const *envp;
	int report_fd; /* close-on-exec: EOF in the parent means exec happened */
	int sync_fd;   /* -1, or where the parent says the id maps are written */
	int status_fd; /* -1, or where init writes the command's wait status */
	int init_fd;   /* -1, or nsbox-init opened O_PATH (init, or a fork step) */
	char *stacks[NSBOX_CHILD_STACKS]; /* tops of the stacks of the processes the child makes */
	bool foreground; /* become a process group of its own in the terminal's foreground */
	struct fd_move {
		int from, to; /* the command gets our descriptor from as its descriptor to */
	} fds[NSBOX_MAX_FDS];
	int nfds;
	int fds_above; /* above every to: where the sources are copied out of the way first */
	int tty_socket; /* -1, or where the child sends the master of the command's pseudo-terminal */
	int park_fd;    /* -1, or a listening socket: wait for a connection there before exec (runtime.c) */
	bool hold;      /* the child waits for the parent's go-ahead even without a user namespace */
	bool has_winsize;      /* the caller's terminal size, for the pseudo-terminal */
	struct winsize winsize;
	int parent_fds[4]; /* the parent's ends of the pipes and socket, closed first (-1: none) */
};

/* plan.c */
extern const char *const step_op_names[];

/* One descriptor passed over a unix socket (SCM_RIGHTS): the message that carries it. */
struct fd_message {
	struct msghdr msg;
	struct iovec iov;
	char byte;
	union {
		size_t align; /* a cmsghdr's alignment */
		char space[CMSG_SPACE(sizeof(int))];
	} control;
};

/* child.c (also used by the parent; async-signal-safe) */
void fd_message_init(struct fd_message *m);

/* child.c */
_Noreturn void child_main(const struct child_args *args);

/* mount.c: parent side. Options at idx -> *flags; pushes the data string (or nil) and sets *data. */
void mount_parse_flags(lua_State *L, int idx, unsigned long *flags, const char **data);

/* mount.c: child side, async-signal-safe, return -1 with errno set */
int mount_run_step(const struct step *step, struct owned_mounts *owned);
int mount_run_bind(const struct step *step, struct owned_mounts *owned);
int mount_on(int fd, const char *source, const char *fstype, unsigned long flags, const void *data);
int mount_set_readonly(int fd);

/* rootfs.c: parent side reads a step's create field and words its errors; child side is async-signal-safe */
enum step_create rootfs_read_create(lua_State *L, int idx);
const char *rootfs_error_text(const struct step *step, int err);
int rootfs_open_target(const struct step *step, const struct owned_mounts *owned, enum step_create kind);
int rootfs_own(int fd, struct owned_mounts *owned);
int rootfs_run_step(const struct step *step, struct owned_mounts *owned);
int rootfs_write_path(const char *path, const char *text);
int close_keeping_errno(int fd, int rc);

/* caps.c: parent side leaves the owning userdata on the stack; child side is async-signal-safe */
const struct caps_plan *caps_read_step(lua_State *L, int idx);
uint64_t caps_read_mask(lua_State *L, int idx, const char *key);
int caps_drop_bounding(const struct caps_plan *caps);
int caps_drop(uint64_t mask);
int caps_apply(const struct caps_plan *caps);

/* net.c: child side */
int net_loopback_up(void);

/* ns.c */
extern const char *const ns_names[];
extern const int ns_flags[];
extern const char *const ns_proc_names[];
int ns_check_flags(lua_State *L, int idx);
int ns_join(const struct step *step); /* child side */

/* streams.c: parent side; what the parent opened for the child, closed once it has its copies */
struct passing {
	int opened[NSBOX_MAX_FDS];
	int nopened;
};
int streams_read(lua_State *L, int idx, int files, struct child_args *args, struct passing *pass);
void streams_close(struct passing *pass);
int streams_keep(lua_State *L, int files, const char *name, int fd, const char *mode);

/* runtime.c: child side, async-signal-safe */
void runtime_park(const struct child_args *args);

/* relay.c: parent side, tty = true */
void terminal_relay(pid_t pid, int master, int *status);

/* core.c */
int nsbox_fail(lua_State *L, const char *what);
int nsbox_result(lua_State *L, int rc, const char *what);

void ns_open(lua_State *L);
void mount_open(lua_State *L);
void plan_open(lua_State *L);
void spawn_open(lua_State *L);
void nsinfo_open(lua_State *L);
void caps_open(lua_State *L);
void streams_open(lua_State *L);
void runtime_open(lua_State *L);

#endif
