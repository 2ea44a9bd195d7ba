/*
 * Spawning: clone the child with its new namespaces, write its id maps,
 * release it, learn over the report pipe whether it reached exec; and the
 * process handle the parent keeps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dlfcn.h>
#include <limits.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <sanitizer/asan_interface.h> /* no-op macros unless built with -fsanitize=address */

#include "nsbox.h"

extern char **environ;

struct process {
	pid_t pid;
	int status;    /* waitpid status, once reaped */
	int status_fd; /* with init: where it tells the command's own status, or -1 */
	int tty_fd;    /* tty relayed by wait: the master of the command's pseudo-terminal, or -1 */
	int json_status_fd; /* the caller's, or -1: where wait writes { "exit-code": N } */
	bool reaped;
	bool took_terminal; /* the sandbox was given the terminal's foreground */
};

static const char *const signal_names[] = {
	"HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
	"PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
	"XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS", NULL,
};

/* A signal given as a number, or a name with or without SIG, in any case. */
static int check_signal(lua_State *L, int idx, const char *def)
{
	const char *name;
	char upper[16];
	size_t i;

	if (lua_type(L, idx) == LUA_TNUMBER) {
		lua_Integer sig = luaL_checkinteger(L, idx);

		luaL_argcheck(L, sig > 0 && sig < NSIG, idx, "signal number out of range");
		return (int)sig;
	}
	name = luaL_optstring(L, idx, def);
	for (i = 0; i < sizeof(upper) - 1 && name[i]; i++)
		upper[i] = (char)((name[i] >= 'a' && name[i] <= 'z') ? name[i] - 32 : name[i]);
	upper[i] = '\0';
	name = strncmp(upper, "SIG", 3) == 0 ? upper + 3 : upper;
	for (int k = 0; signal_names[k]; k++)
		if (strcmp(name, signal_names[k]) == 0)
			return k + 1;
	return luaL_argerror(L, idx, lua_pushfstring(L, "unknown signal '%s'", lua_tostring(L, idx)));
}

/* A Lua list of strings at idx -> a NULL-terminated array kept alive on the stack. */
static char **string_array(lua_State *L, int idx, const char *what)
{
	size_t n = lua_rawlen(L, idx);
	char **array = lua_newuserdatauv(L, (n + 1) * sizeof(char *), 0);

	for (size_t i = 0; i < n; i++) {
		if (lua_rawgeti(L, idx, (lua_Integer)i + 1) != LUA_TSTRING)
			luaL_error(L, "%s[%d] must be a string, got %s", what, (int)i + 1, luaL_typename(L, -1));
		array[i] = (char *)lua_tostring(L, -1); /* anchored by the list */
		lua_pop(L, 1);
	}
	array[n] = NULL;
	return array;
}

static int write_file(pid_t pid, const char *name, const char *text)
{
	char path[64];
	size_t len = strlen(text);
	int fd, err;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, text, len); /* the kernel takes a map in one write */
	err = errno;
	close(fd);
	if (n == (ssize_t)len)
		return 0;
	errno = n < 0 ? err : EIO;
	return -1;
}

/*
 * Write the child's maps; on failure *what names the file. gid_map needs
 * setgroups denied first unless the parent holds CAP_SETGID, so "auto"
 * tries without and denies only when the kernel says so.
 */
static int write_id_maps(pid_t pid, const struct plan *plan, const char **what)
{
	*what = "setgroups";
	if (plan->setgroups == SETGROUPS_DENY && write_file(pid, "setgroups", "deny") < 0)
		return -1;
	*what = "uid_map";
	if (plan->uid_map && write_file(pid, "uid_map", plan->uid_map) < 0)
		return -1;
	*what = "gid_map";
	if (plan->gid_map && write_file(pid, "gid_map", plan->gid_map) < 0) {
		if (errno != EPERM || plan->setgroups != SETGROUPS_AUTO)
			return -1;
		*what = "setgroups";
		if (write_file(pid, "setgroups", "deny") < 0)
			return -1;
		*what = "gid_map";
		return write_file(pid, "gid_map", plan->gid_map);
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Take the terminal's foreground back; we are a background group until then. */
static void restore_terminal(void)
{
	sigset_t ttou, old;

	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	tcsetpgrp(STDIN_FILENO, getpgrp());
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* A supervisor leaves with the command's code, or 128+N for its signal N. */
static bool agrees(int supervisor, int command)
{
	int code = WIFSIGNALED(command) ? 128 + WTERMSIG(command) : WEXITSTATUS(command);

	return WIFEXITED(supervisor) && WEXITSTATUS(supervisor) == (code & 0xff);
}

/* The end, for machines (bubblewrap's --json-status-fd): the exit code, 128+N for signal N. */
static void tell_exit_code(struct process *proc)
{
	char line[48];
	int code = WIFSIGNALED(proc->status) ? 128 + WTERMSIG(proc->status) : WEXITSTATUS(proc->status);
	int len = snprintf(line, sizeof(line), "{ \"exit-code\": %d }\n", code);
	ssize_t written;

	if (proc->json_status_fd < 0)
		return;
	written = write(proc->json_status_fd, line, (size_t)len);
	(void)written; /* a reader that is gone has nothing to learn */
	proc->json_status_fd = -1;
}

/*
 * Once reaped: with a supervisor, the status that counts is the command's,
 * if it told it and its own exit agrees (a told status that does not is not
 * the supervisor's, and is ignored).
 */
static void reaped(struct process *proc)
{
	int status;

	proc->reaped = true;
	close_fd(&proc->tty_fd);
	if (proc->took_terminal)
		restore_terminal();
	if (proc->status_fd >= 0 && read(proc->status_fd, &status, sizeof(status)) == (ssize_t)sizeof(status) &&
	    agrees(proc->status, status))
		proc->status = status;
	close_fd(&proc->status_fd);
	tell_exit_code(proc);
}


static void reap(struct process *proc)
{
	while (waitpid(proc->pid, &proc->status, __WALL) < 0 && errno == EINTR)
		;
	reaped(proc);
}

/* Read the child's report: 0 at EOF (it reached exec), 1 with a report. */
static int read_report(int fd, struct child_report *report)
{
	ssize_t n;

	do
		n = read(fd, report, sizeof(*report));
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n != (ssize_t)sizeof(*report))
		*report = (struct child_report){.step = -1, .err = n < 0 ? errno : EPIPE};
	return 1;
}

static int spawn_failure(lua_State *L, const char *op, const char *message, int err)
{
	luaL_pushfail(L);
	lua_pushstring(L, message);
	lua_pushinteger(L, err);
	lua_pushstring(L, op);
	return 4;
}

static int child_failure(lua_State *L, const struct plan *plan, const char *file, struct child_report r)
{
	const char *text = strerror(r.err);

	if (r.step < 0 || (size_t)r.step > plan->nsteps + REPORT_TTY)
		return spawn_failure(L, "report", lua_pushfstring(L, "lost the child's report: %s", text), r.err);
	if ((size_t)r.step == plan->nsteps + REPORT_EXEC)
		return spawn_failure(L, "exec", lua_pushfstring(L, "exec %s (step %d): %s", file,
							       r.step + 1, text), r.err);
	if ((size_t)r.step == plan->nsteps + REPORT_INIT)
		return spawn_failure(L, "init", lua_pushfstring(L, "start nsbox-init: %s", text), r.err);
	if ((size_t)r.step == plan->nsteps + REPORT_TTY)
		return spawn_failure(L, "tty", lua_pushfstring(L, "a terminal for the command from /dev/ptmx: %s", text),
				     r.err);
	if ((size_t)r.step == plan->nsteps + REPORT_FDS)
		return spawn_failure(L, "fds", lua_pushfstring(L, "pass descriptors: %s", text), r.err);
	if ((size_t)r.step == plan->nsteps + REPORT_SESSION)
		return spawn_failure(L, "session", lua_pushfstring(L, "start a new session: %s", text), r.err);
	return spawn_failure(L, step_op_names[plan->steps[r.step].op],
			     lua_pushfstring(L, "%s (step %d): %s", plan->steps[r.step].desc, r.step + 1,
					     rootfs_error_text(&plan->steps[r.step], r.err)),
			     r.err);
}

/*
 * The child runs on these stacks, sharing the parent's memory (CLONE_VM)
 * until its exec, as do the processes it makes (each on the next stack, each
 * vforked): no page of the interpreter is copied or write-protected, which
 * is most of what a fork costs. All of them have exec'd or exited before
 * spawn returns, so one set of stacks per thread serves every spawn.
 */
#define CHILD_STACK_SIZE (64 * 1024)

static _Thread_local char *child_stack_tops[NSBOX_CHILD_STACKS];

/* Each stack with a guard page below it: an overflow faults, never corrupts. */
static int child_stacks(char *tops[NSBOX_CHILD_STACKS])
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t each = CHILD_STACK_SIZE + page;
	char *base;

	if (child_stack_tops[0] == NULL) {
		base = mmap(NULL, each * NSBOX_CHILD_STACKS, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (base == MAP_FAILED)
			return -1;
		for (int i = 0; i < NSBOX_CHILD_STACKS; i++) {
			mprotect(base + i * each, page, PROT_NONE);
			child_stack_tops[i] = base + (i + 1) * each;
		}
	}
	memcpy(tops, child_stack_tops, sizeof(child_stack_tops));
	return 0;
}

static int shared_memory_child(void *args)
{
	child_main(args);
}

/*
 * Clone the child onto our memory. Without a user namespace the parent
 * also sleeps until its exec (CLONE_VFORK); with one it must write the id
 * maps meanwhile. Returns the pid, or -1 on failure.
 */
static pid_t clone_child(const struct plan *plan, struct child_args *args)
{
	unsigned long flags = (unsigned long)plan->clone_flags | SIGCHLD | CLONE_VM;

	if (child_stacks(args->stacks) < 0)
		return -1;
	/* Under ASan: the last children's frames never returned, so their redzones are still poisoned. */
	for (int i = 0; i < NSBOX_CHILD_STACKS; i++)
		ASAN_UNPOISON_MEMORY_REGION(args->stacks[i] - CHILD_STACK_SIZE, CHILD_STACK_SIZE);
	if (args->park_fd >= 0)
		flags &= ~(unsigned long)CLONE_VM; /* parked, it outlives this spawn: a copy of our memory */
	else if (args->sync_fd < 0)
		flags |= CLONE_VFORK;
	return clone(shared_memory_child, args->stacks[0], (int)flags, args);
}

/*
 * nsbox-init, beside this module (dladdr finds where it was loaded from):
 * the child execs it from the descriptor, which works after pivot_root too.
 * -1 with errno set when it cannot be opened.
 */
static int open_init_program(void)
{
	static const char marker = 0; /* an object of this module, for dladdr */
	char path[PATH_MAX];
	Dl_info info;
	const char *slash;

	if (dladdr(&marker, &info) == 0 || info.dli_fname == NULL ||
	    (slash = strrchr(info.dli_fname, '/')) == NULL) {
		errno = ENOENT;
		return -1;
	}
	if ((size_t)snprintf(path, sizeof(path), "%.*s/nsbox-init", (int)(slash - info.dli_fname),
			     info.dli_fname) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path, O_PATH | O_CLOEXEC);
}

/* Only a job in the terminal's foreground may hand the foreground on. */
static bool owns_terminal(void)
{
	return isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
}

/* The pipes of one spawn, each [0] its read end and [1] its write end. */
struct pipes {
	int report[2]; /* child -> parent: a report on failure, EOF at exec */
	int sync[2];   /* parent -> child: the id maps are written */
	int status[2]; /* init or relay -> parent: the command's wait status */
	int tty[2];    /* child -> parent: the master of the command's pseudo-terminal (a socket pair) */
};

static void close_pipes(struct pipes *p)
{
	for (int i = 0; i < 2; i++) {
		close_fd(&p->report[i]);
		close_fd(&p->sync[i]);
		close_fd(&p->status[i]);
		close_fd(&p->tty[i]);
	}
}

/* The pipes a plan needs, their child's ends given to args. */
static int open_pipes(const struct plan *plan, struct pipes *p, struct child_args *args, bool tty)
{
	if (pipe2(p->report, O_CLOEXEC) < 0 ||
	    (((plan->clone_flags & CLONE_NEWUSER) || args->hold) && pipe2(p->sync, O_CLOEXEC) < 0) ||
	    (plan->supervised && pipe2(p->status, O_CLOEXEC) < 0) ||
	    (tty && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p->tty) < 0))
		return -1;
	/* The command's report pipe must not be where a passed descriptor goes. */
	if (p->report[1] < args->fds_above) {
		int above = fcntl(p->report[1], F_DUPFD_CLOEXEC, args->fds_above);

		if (above < 0)
			return -1;
		close(p->report[1]);
		p->report[1] = above;
	}
	args->report_fd = p->report[1];
	args->sync_fd = p->sync[0];
	args->status_fd = p->status[1];
	args->parent_fds[0] = p->report[0];
	args->parent_fds[1] = p->sync[1];
	args->parent_fds[2] = p->status[0];
	args->parent_fds[3] = p->tty[0];
	args->tty_socket = p->tty[1];
	return 0;
}

/* A failure of ours once the child runs: it is killed and reaped. */
static int kill_failure(lua_State *L, struct process *proc, struct pipes *p, const char *op, const char *what)
{
	int err = errno;

	close_pipes(p);
	kill(proc->pid, SIGKILL);
	reap(proc);
	return spawn_failure(L, op, lua_pushfstring(L, "%s: %s", what, strerror(err)), err);
}

/* The master the child sent before its exec (child.c's send_master), or -1. */
static int receive_master(int socket_fd)
{
	struct fd_message m;
	struct cmsghdr *cmsg;
	int fd;

	fd_message_init(&m);
	if (recvmsg(socket_fd, &m.msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cmsg = CMSG_FIRSTHDR(&m.msg);
	if (cmsg == NULL || cmsg->cmsg_type != SCM_RIGHTS || cmsg->cmsg_len != CMSG_LEN(sizeof(int))) {
		errno = EPROTO;
		return -1;
	}
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

/*
 * The ids (inodes) of the namespaces of pid, into the table at files as
 * namespace_ids = { mnt = ..., ... }: read while the child waits for us,
 * since a command that ends has no namespaces left to read.
 */
static void namespace_ids(lua_State *L, pid_t pid, int files)
{
	lua_newtable(L);
	for (int i = 0; ns_proc_names[i]; i++) {
		char path[64];
		struct stat st;

		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns_proc_names[i]);
		if (stat(path, &st) == 0) {
			lua_pushinteger(L, (lua_Integer)st.st_ino);
			lua_setfield(L, -2, ns_proc_names[i]);
		}
	}
	lua_setfield(L, files, "namespace_ids");
}

/* The parent's side once the child exists: write its maps, release it, read its report. */
static int after_clone(lua_State *L, struct process *proc, const struct child_args *args, pid_t pid,
		       struct pipes *p, int files)
{
	const struct plan *plan = args->plan;
	struct child_report r;
	const char *what;
	int err;

	close_fd(&p->report[1]);
	close_fd(&p->sync[0]);
	close_fd(&p->status[1]);
	close_fd(&p->tty[1]);
	if (pid < 0) {
		err = errno;
		close_pipes(p);
		return spawn_failure(L, "clone", lua_pushfstring(L, "clone: %s", strerror(err)), err);
	}
	*proc = (struct process){.pid = pid, .status_fd = p->status[0], .tty_fd = -1, .json_status_fd = -1,
				 .took_terminal = args->foreground};
	p->status[0] = -1; /* the handle owns it now */
	if (args->foreground)
		setpgid(pid, pid); /* also here: whichever of us runs first, the group exists before exec */
	if (p->sync[1] >= 0 && write_id_maps(pid, plan, &what) < 0) {
		err = errno;
		close_pipes(p);
		reap(proc);
		return spawn_failure(L, what, lua_pushfstring(L, "write /proc/%d/%s: %s", (int)pid, what, strerror(err)),
				     err);
	}
	if (args->hold)
		namespace_ids(L, pid, files);
	if (p->sync[1] >= 0 && write(p->sync[1], "", 1) != 1)
		return kill_failure(L, proc, p, "sync", "release child");
	if (read_report(p->report[0], &r)) {
		close_pipes(p);
		reap(proc);
		return child_failure(L, plan, args->file, r);
	}
	if (p->tty[0] >= 0 && (proc->tty_fd = receive_master(p->tty[0])) < 0)
		return kill_failure(L, proc, p, "tty", "receive the command's terminal");
	close_pipes(p);
	return 1;
}

/*
 * core.spawn(plan, argv [, env [, options]]) -> process
 *   | nil, message, errno, op   (op: the step that failed, "clone", "exec", ...)
 * options: foreground (boolean), fds ({ [fd] = what }, see streams.c), tty
 * ("relay" or "caller"), json_status_fd (where wait writes the exit code).
 */
/* core.spawn's options (see above) into args; the fds table left at 5. The tty mode: 0 none, 1 relay, 2 caller. */
static int read_options(lua_State *L, const struct plan *plan, struct child_args *args, int *json_status_fd)
{
	static const char *const tty_modes[] = {"none", "relay", "caller", NULL};
	int tty;

	lua_settop(L, 4);
	if (lua_isnil(L, 4)) {
		lua_newtable(L);
		lua_replace(L, 4);
	}
	luaL_checktype(L, 4, LUA_TTABLE);
	lua_getfield(L, 4, "tty");
	tty = luaL_checkoption(L, -1, "none", tty_modes);
	lua_getfield(L, 4, "foreground");
	args->foreground = lua_toboolean(L, -1) && !plan->new_session && !tty && owns_terminal();
	lua_getfield(L, 4, "json_status_fd");
	*json_status_fd = (int)luaL_optinteger(L, -1, -1);
	lua_getfield(L, 4, "namespace_ids");
	args->hold = lua_toboolean(L, -1);
	lua_getfield(L, 4, "park");
	args->park_fd = (int)luaL_optinteger(L, -1, -1);
	lua_getfield(L, 4, "fds");
	lua_replace(L, 5);
	lua_settop(L, 5);
	args->has_winsize = tty && isatty(STDIN_FILENO) && ioctl(STDIN_FILENO, TIOCGWINSZ, &args->winsize) == 0;
	return tty;
}

/* argv (with the plan's argv0 shown in its place) and env, kept alive on the stack. */
static void read_command(lua_State *L, const struct plan *plan, struct child_args *args)
{
	char **argv;

	luaL_checktype(L, 2, LUA_TTABLE);
	luaL_argcheck(L, lua_rawlen(L, 2) > 0, 2, "empty argv");
	argv = string_array(L, 2, "argv");
	args->file = argv[0];
	if (plan->argv0)
		argv[0] = (char *)plan->argv0; /* anchored by the plan */
	args->argv = argv;
	if (!lua_isnoneornil(L, 3)) {
		luaL_checktype(L, 3, LUA_TTABLE);
		args->envp = string_array(L, 3, "env");
	}
}

/* A failure before the clone: everything opened for it closed again. */
static int setup_failure(lua_State *L, struct pipes *p, struct passing *pass, const char *op, const char *what)
{
	int err = errno;

	close_pipes(p);
	streams_close(pass);
	return spawn_failure(L, op, lua_pushfstring(L, "%s: %s", what, strerror(err)), err);
}

/* The park socket must not be where a passed descriptor goes either: a copy above them, closed after the spawn. */
static int park_above(struct child_args *args, struct passing *pass)
{
	if (args->park_fd < 0 || args->park_fd >= args->fds_above)
		return 0;
	if (pass->nopened == NSBOX_MAX_FDS) {
		errno = EMFILE;
		return -1;
	}
	if ((args->park_fd = fcntl(args->park_fd, F_DUPFD_CLOEXEC, args->fds_above)) < 0)
		return -1;
	pass->opened[pass->nopened++] = args->park_fd;
	return 0;
}

/*
 * The descriptors, pipes and program a spawn needs, opened before the
 * clone: 0, or -1 with errno, *op naming the failed part and *what saying it.
 */
static int open_all(lua_State *L, int files, struct child_args *args, struct pipes *p, struct passing *pass,
		    bool tty, const char *failed[2])
{
	const struct plan *plan = args->plan;

	failed[0] = "pipe";
	failed[1] = "descriptors for the command";
	if (streams_read(L, 5, files, args, pass) < 0)
		return -1;
	failed[1] = "pipe";
	if (open_pipes(plan, p, args, tty) < 0 || park_above(args, pass) < 0)
		return -1;
	failed[0] = "init";
	failed[1] = "nsbox-init (installed beside nsbox.core)";
	return plan->supervised && (args->init_fd = open_init_program()) < 0 ? -1 : 0;
}

static int l_spawn(lua_State *L)
{
	const struct plan *plan = luaL_checkudata(L, 1, NSBOX_PLAN_MT);
	struct child_args args = {.plan = plan, .report_fd = -1, .sync_fd = -1, .status_fd = -1, .init_fd = -1,
				  .tty_socket = -1, .park_fd = -1};
	struct pipes p = {{-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}};
	struct passing pass = {.nopened = 0};
	sigset_t all, old;
	struct process *proc;
	const char *failed[2]; /* the op and the words of a failure before the clone */
	int result, files, json_status_fd;
	int tty = read_options(L, plan, &args, &json_status_fd);

	read_command(L, plan, &args);
	/* Everything Lua may allocate is allocated before the clone. */
	proc = lua_newuserdatauv(L, sizeof(*proc), 1);
	*proc = (struct process){.pid = -1, .status_fd = -1, .tty_fd = -1, .json_status_fd = -1, .reaped = true};
	luaL_setmetatable(L, NSBOX_PROCESS_MT);
	lua_newtable(L); /* our ends of the command's pipes and terminal: process.stdin, ..., tty */
	files = lua_gettop(L);
	lua_pushvalue(L, files);
	lua_setiuservalue(L, files - 1, 1);
	if (open_all(L, files, &args, &p, &pass, tty != 0, failed) < 0)
		return setup_failure(L, &p, &pass, failed[0], failed[1]);
	/*
	 * Every signal stays blocked until the child has exec'd or failed: none
	 * may reach it before it drops our handlers, and none may interrupt us
	 * while errno is still shared with it.
	 */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	lua_pushvalue(L, files - 1); /* the handle on top: what a spawn returns */
	result = after_clone(L, proc, &args, clone_child(plan, &args), &p, files);
	proc->json_status_fd = json_status_fd;
	if (result == 1 && tty == 2) { /* "caller": the master is theirs, as process.tty */
		if (streams_keep(L, files, "tty", proc->tty_fd, "r+") < 0)
			close(proc->tty_fd);
		proc->tty_fd = -1;
	}
	close_fd(&args.init_fd); /* every process of the spawn has exec'd or exited by now */
	streams_close(&pass);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return result;
}

/* os.execute's shape: true|nil, "exit"|"signal", code */
static int push_status(lua_State *L, int status)
{
	if (WIFSIGNALED(status)) {
		luaL_pushfail(L);
		lua_pushliteral(L, "signal");
		lua_pushinteger(L, WTERMSIG(status));
	} else {
		int code = WEXITSTATUS(status);

		if (code == 0)
			lua_pushboolean(L, 1);
		else
			luaL_pushfail(L);
		lua_pushliteral(L, "exit");
		lua_pushinteger(L, code);
	}
	return 3;
}

static struct process *check_process(lua_State *L)
{
	return luaL_checkudata(L, 1, NSBOX_PROCESS_MT);
}

static void forward_signals_until_exit(struct process *proc)
{
	sigset_t set, old;
	siginfo_t info;
	struct timespec now = {0, 0};

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	for (;;) {
		pid_t r = waitpid(proc->pid, &proc->status, WNOHANG | __WALL);

		if (r == proc->pid || (r < 0 && errno != EINTR))
			break;
		if (sigwaitinfo(&set, &info) > 0 && info.si_signo != SIGCHLD)
			kill(proc->pid, info.si_signo);
	}
	/* Signals that raced the end were meant for the sandbox, which is gone. */
	sigdelset(&set, SIGCHLD);
	while (sigtimedwait(&set, &info, &now) > 0)
		;
	sigprocmask(SIG_SETMASK, &old, NULL);
	reaped(proc);
}

/*
 * process:wait() -> true|nil, "exit"|"signal", code. While waiting, SIGINT,
 * SIGTERM and SIGHUP sent to this process are passed on to the sandbox.
 */
static int process_wait(lua_State *L)
{
	struct process *proc = check_process(L);

	if (proc->pid < 0) {
		errno = ECHILD;
		return nsbox_fail(L, "wait");
	}
	if (!proc->reaped && proc->tty_fd >= 0) {
		terminal_relay(proc->pid, proc->tty_fd, &proc->status);
		reaped(proc);
	} else if (!proc->reaped) {
		forward_signals_until_exit(proc);
	}
	return push_status(L, proc->status);
}

/* process:kill([signal]) -> true | nil, message, errno; default TERM. */
static int process_kill(lua_State *L)
{
	struct process *proc = check_process(L);
	int sig = check_signal(L, 2, "TERM");

	if (proc->reaped) {
		errno = ESRCH;
		return nsbox_fail(L, "kill");
	}
	return nsbox_result(L, kill(proc->pid, sig), "kill");
}

/* __close and __gc: a sandbox nobody waits for is killed and reaped, never leaked. */
static int process_close(lua_State *L)
{
	struct process *proc = check_process(L);

	if (!proc->reaped) {
		kill(proc->pid, SIGKILL);
		reap(proc);
	}
	return 0;
}

/*
 * process:detach() -> pid: the process is left to whoever adopts it when we
 * exit (a container under its engine's monitor): never waited for, killed
 * or reaped through this handle again.
 */
static int process_detach(lua_State *L)
{
	struct process *proc = check_process(L);

	proc->reaped = true;
	close_fd(&proc->status_fd);
	close_fd(&proc->tty_fd);
	lua_pushinteger(L, proc->pid);
	return 1;
}

static int process_index(lua_State *L)
{
	struct process *proc = check_process(L);

	const char *key = luaL_checkstring(L, 2);

	if (strcmp(key, "pid") == 0) {
		lua_pushinteger(L, proc->pid);
		return 1;
	}
	lua_getiuservalue(L, 1, 1); /* stdin, stdout, stderr, tty, namespace_ids */
	if (lua_getfield(L, -1, key) != LUA_TNIL)
		return 1;
	lua_getmetatable(L, 1);
	lua_getfield(L, -1, "methods");
	lua_getfield(L, -1, lua_tostring(L, 2));
	return 1;
}

static int process_tostring(lua_State *L)
{
	struct process *proc = check_process(L);

	if (!proc->reaped)
		lua_pushfstring(L, "nsbox.process{pid=%d, running}", (int)proc->pid);
	else if (WIFSIGNALED(proc->status))
		lua_pushfstring(L, "nsbox.process{pid=%d, signal %d}", (int)proc->pid, WTERMSIG(proc->status));
	else
		lua_pushfstring(L, "nsbox.process{pid=%d, exit %d}", (int)proc->pid, WEXITSTATUS(proc->status));
	return 1;
}

/* core.environ() -> the calling process's environment as a list of "NAME=value". */
static int l_environ(lua_State *L)
{
	lua_newtable(L);
	for (int i = 0; environ[i]; i++) {
		lua_pushstring(L, environ[i]);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

/* core.signum(name) -> number: the CLI turns "killed by SIGTERM" into 128+15. */
static int l_signum(lua_State *L)
{
	lua_pushinteger(L, check_signal(L, 1, NULL));
	return 1;
}

void spawn_open(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"wait", process_wait},
		{"kill", process_kill},
		{"close", process_close},
		{"detach", process_detach},
		{NULL, NULL},
	};
	static const luaL_Reg metamethods[] = {
		{"__index", process_index},
		{"__tostring", process_tostring},
		{"__close", process_close},
		{"__gc", process_close},
		{NULL, NULL},
	};
	static const luaL_Reg fns[] = {
		{"spawn", l_spawn},
		{"environ", l_environ},
		{"signum", l_signum},
		{NULL, NULL},
	};

	luaL_newmetatable(L, NSBOX_PROCESS_MT);
	luaL_setfuncs(L, metamethods, 0);
	luaL_newlib(L, methods);
	lua_setfield(L, -2, "methods");
	lua_pop(L, 1);
	luaL_setfuncs(L, fns, 0);
	lua_pushinteger(L, NSBOX_MAX_FDS);
	lua_setfield(L, -2, "MAX_PASSED_FDS");
}
