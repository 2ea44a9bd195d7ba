/*
 * nsbox: the plan a child executes, and everything that runs without Lua.
 *
 * A plan is built in the parent (plan.c, from the Lua table nsbox.recipe
 * compiles) and only read in the child: every string it points to is
 * anchored by the plan's Lua userdata, and the child shares the parent's
 * memory until exec (CLONE_VM), so it uses the plan in place and allocates
 * nothing. The files that include only this header (child.c, mount.c,
 * rootfs.c, caps.c, ns.c, net.c, common.c, idmap.c) never touch Lua: the child
 * runs them, and bench/floor.c builds on them.
 */
#ifndef NSBOX_PLAN_H
#define NSBOX_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Each with its row in step_types (plan.c). */
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
	STEP_SECCOMP,
	STEP_PAUSE,
};

/*
 * The name lists, each defined once as a table of rows that starts with the
 * name and ends with a NULL name; nsbox.core exports them to Lua
 * (core.STEPS, core.NAMESPACES, core.RLIMITS) for the recipe modules.
 */
struct step_type {
	const char *name; /* the plan's op */
};
extern const struct step_type step_types[]; /* plan.c, indexed by enum step_op */

struct ns_type {
	const char *name; /* the recipe's */
	int flag;         /* CLONE_NEW* */
	const char *proc; /* the file in /proc/PID/ns */
};
extern const struct ns_type ns_types[]; /* ns.c, in the order of namespaces(7) */

struct rlimit_type {
	const char *name; /* the recipe's */
	int resource;     /* RLIMIT_* */
};
extern const struct rlimit_type rlimit_types[]; /* plan.c */

/* What a caps step carries: E, P and I as a libcap set, bounding and ambient as masks. */
struct caps_plan {
	cap_t sets;
	uint64_t bounding;
	uint64_t ambient;
	int last_cap;
};

struct sock_fprog;

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
	const void *file;    /* join: the Lua file holding a namespace fd, or NULL (read by the parent only) */
	int fd;              /* join with a file: its descriptor, or -1 once it is closed (set before each spawn) */
	size_t root_len;     /* mounts, rootfs steps: target[root_len..] is resolved inside target[0..root_len) */
	size_t base_len;     /* target[root_len..base_len) is resolved too (inside the root); the rest is */
	enum step_create {   /* created without following symlinks */
		CREATE_NONE, CREATE_DIR, CREATE_FILE, CREATE_LIKE_SOURCE,
	} create;
	bool owned;          /* mount, bind: the sandbox's own mount (rootfs, tmpfs, dev): creating in it is allowed */
	const struct sock_fprog *filter; /* seccomp: the program, installed just before exec */
	unsigned int seccomp_flags;      /* seccomp: SECCOMP_FILTER_FLAG_* */
	bool no_new_privs;               /* seccomp: set it first (the command has no CAP_SYS_ADMIN) */
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
	bool forks;           /* a fork step: the rest of the plan runs where the joined namespace's processes see it */
	const struct step *seccomp; /* NULL, or the seccomp step, run by the command's process just before exec */
	bool pauses;          /* a pause step: the child waits there for the parent's word (park.c), on a private copy */
	size_t nsteps;
	struct step steps[];
};

/* What a failing child writes to the parent before _exit; with err 0, that it waits at a pause step or is parked. */
struct child_report {
	int32_t step; /* index into plan->steps, or one of the REPORT_* after them */
	int32_t err;
};

/* Report steps past the plan's own: plan->nsteps + REPORT_EXEC, ... */
enum { REPORT_EXEC = 0, REPORT_INIT = 1, REPORT_SESSION = 2, REPORT_FDS = 3, REPORT_TTY = 4, REPORT_PARKED = 5 };

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
	int cgroup_fd;     /* -1, or the v2 cgroup the child is cloned into */
};

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

/*
 * Everything below is async-signal-safe and allocates nothing; those
 * returning int return -1 with errno set on failure.
 */

/* child.c */
_Noreturn void child_main(const struct child_args *args);
int child_run_step(const struct step *step, int report_fd, struct owned_mounts *owned);

/* common.c: descriptors, text and name tables, for the child and the parent alike */
int close_keeping_errno(int fd, int rc);
void close_fd(int *fd);
int fd_above(int *fd, int min);
int close_all_but(int *keep, int n);
int write_all(int fd, const char *text);
int write_path(const char *path, const char *text);
char *decimal(char buf[12], unsigned int n);
void fd_message_init(struct fd_message *m);
const char *row_name(const void *rows, size_t stride, size_t i); /* a name table's row i, NULL past the end */
int find_row(const void *rows, size_t stride, const char *name, size_t len); /* name[0..len)'s row, or -1 */

/* mount.c: the mount(8) option words, and the steps that mount (mount, bind, mask, remount_ro) */
bool mount_option(const char *word, size_t len, unsigned long *flags);
int mount_run_step(const struct step *step, struct owned_mounts *owned);

/* rootfs.c: targets resolved inside the root, created only on owned mounts; the other rootfs steps */
int rootfs_open_target(const struct step *step, const struct owned_mounts *owned, enum step_create kind);
int rootfs_own(int fd, struct owned_mounts *owned);
int rootfs_run_step(const struct step *step, struct owned_mounts *owned);

/* caps.c */
int caps_drop_bounding(const struct caps_plan *caps);
int caps_drop(uint64_t mask);
int caps_apply(const struct caps_plan *caps);

/* net.c */
int net_loopback_up(void);

/* park.c: the OCI runtime's container waits for the parent at a pause step, and for start before exec */
void runtime_pause(const struct child_args *args, size_t step);
void runtime_park(const struct child_args *args);

/* ns.c */
int ns_join(const struct step *step);

/* idmap.c: the parent's, between the clone and the child's go-ahead; *what names the file that failed */
int write_id_maps(pid_t pid, const struct plan *plan, const char **what);

#endif
