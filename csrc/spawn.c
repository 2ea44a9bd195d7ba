/*
 * Spawning: clone the child with its new namespaces, write its id maps
 * (idmap.c), release it, learn over the report pipe whether it reached exec
 * or which step failed, and hand the process over to its handle (process.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
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

/* Creating on another mount (EXDEV from the child) is refused by design: say so in the recipe's words. */
static const char *step_error_text(const struct step *step, int err)
{
	bool creates = step->create != CREATE_NONE || step->op == STEP_MKDIR || step->op == STEP_WRITE_FILE ||
		       step->op == STEP_SYMLINK;

	if (err == EXDEV && step->op == STEP_SYSCTL)
		return "the path is not on a proc filesystem (something is mounted over it); the host's files never "
		       "change";
	if (err == EXDEV && creates)
		return "it would land on a mount the sandbox does not own (only its rootfs and the tmpfs and dev "
		       "mounts of its recipe are its own); the host's files never change";
	return strerror(err);
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
	return spawn_failure(L, step_types[plan->steps[r.step].op].name,
			     lua_pushfstring(L, "%s (step %d): %s", plan->steps[r.step].desc, r.step + 1,
					     step_error_text(&plan->steps[r.step], r.err)),
			     r.err);
}

/*
 * The child runs on these stacks, sharing the parent's memory (CLONE_VM)
 * until its exec, as do the processes it makes (each on the next stack, a
 * CLONE_VM clone held at init's gate): no page of the interpreter is copied
 * or write-protected, which is most of what a fork costs. All of them have
 * exec'd, parked or exited before spawn returns (a child whose init could
 * not start is killed and reaped first), so one set of stacks per thread
 * serves every spawn.
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
	if (args->cgroup_fd >= 0)
		return cgroup_clone(plan->clone_flags, args->sync_fd < 0 && args->park_fd < 0, args->cgroup_fd, args);
	if (args->park_fd >= 0 || plan->pauses)
		flags &= ~(unsigned long)CLONE_VM; /* parked, it outlives this spawn; paused, we run Lua meanwhile */
	else if (args->sync_fd < 0)
		flags |= CLONE_VFORK;
	return clone(shared_memory_child, args->stacks[0], (int)flags, args);
}

/*
 * Where nsbox-init is, when not beside this module's own file: the nsbox
 * command links the core in (dladdr would name the program, as its caller
 * spelled it) and says, through core.init_program, which nsbox-init goes
 * with it: the one beside the core.so Lua's C path finds, or none.
 */
static char init_program[PATH_MAX];
static bool init_program_given;

/* core.init_program(path | false) */
static int l_init_program(lua_State *L)
{
	size_t len = 0;
	const char *path = lua_toboolean(L, 1) ? luaL_checklstring(L, 1, &len) : "";

	luaL_argcheck(L, len < sizeof(init_program) && (len == 0 || path[0] == '/'), 1, "an absolute path, or false");
	memcpy(init_program, path, len + 1);
	init_program_given = true;
	return 0;
}

/* What a failure to open nsbox-init names. */
static const char *init_program_place(void)
{
	if (!init_program_given)
		return "nsbox-init (installed beside nsbox.core)";
	return init_program[0] != '\0' ? init_program : "nsbox-init (installed beside a core.so on Lua's C path; none is)";
}

/*
 * nsbox-init: as core.init_program says, or beside this module (dladdr
 * finds where it was loaded from). The child execs it from the descriptor,
 * which works after pivot_root too. -1 with errno set when it cannot be
 * opened.
 */
static int open_init_program(void)
{
	static const char marker = 0; /* an object of this module, for dladdr */
	char path[PATH_MAX];
	Dl_info info;
	const char *slash;

	if (init_program_given) {
		if (init_program[0] != '\0')
			return open(init_program, O_PATH | O_CLOEXEC);
		errno = ENOENT;
		return -1;
	}
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
	/*
	 * parent -> child: go on (the id maps are written, a pause is over). A
	 * socket pair, its byte sent with MSG_NOSIGNAL: a child dead meanwhile
	 * is EPIPE, where a pipe would leave a SIGPIPE pending in our blocked
	 * mask, to kill us silently when clone_and_wait restores it.
	 */
	int sync[2];
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
	    (((plan->clone_flags & CLONE_NEWUSER) || args->hold || plan->pauses) &&
	     socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p->sync) < 0) ||
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

/* A failure once the child runs, told by message: the child is killed and reaped. */
static int stop_child(lua_State *L, struct process *proc, struct pipes *p, const char *op, const char *message,
		      int err)
{
	close_pipes(p);
	kill(proc->pid, SIGKILL);
	process_reap(proc);
	return spawn_failure(L, op, message, err);
}

/* A failure of ours once the child runs (errno says what): the child is killed and reaped. */
static int kill_failure(lua_State *L, struct process *proc, struct pipes *p, const char *op, const char *what)
{
	int err = errno;

	return stop_child(L, proc, p, op, lua_pushfstring(L, "%s: %s", what, strerror(err)), err);
}

/* The child ended on its own, when it should have waited for us: reaped, and how it ended told. */
static int lost_child(lua_State *L, struct process *proc, struct pipes *p, const char *op, const char *when)
{
	close_pipes(p);
	process_reap(proc);
	if (WIFSIGNALED(proc->status))
		return spawn_failure(L, op, lua_pushfstring(L, "the sandbox's process was killed by signal %d %s",
							    WTERMSIG(proc->status), when), ESRCH);
	return spawn_failure(L, op, lua_pushfstring(L, "the sandbox's process exited with status %d %s",
						    WEXITSTATUS(proc->status), when), ESRCH);
}

/* Let the child go on; one that is gone meanwhile is told (lost_child), or our failure (kill_failure). */
static int release_child(lua_State *L, struct process *proc, struct pipes *p, const char *when)
{
	if (send(p->sync[1], "", 1, MSG_NOSIGNAL) == 1)
		return 0;
	if (errno == EPIPE || errno == ECONNRESET)
		return lost_child(L, proc, p, "sync", when);
	return kill_failure(L, proc, p, "sync", "let the child go on");
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
	for (int i = 0; ns_types[i].name; i++) {
		char path[64];
		struct stat st;

		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns_types[i].proc);
		if (stat(path, &st) == 0) {
			lua_pushinteger(L, (lua_Integer)st.st_ino);
			lua_setfield(L, -2, ns_types[i].proc);
		}
	}
	lua_setfield(L, files, "namespace_ids");
}

/*
 * An option's function at idx called with pid (before_release, paused): 0,
 * or -1 with its message on the stack.
 */
static int call_option(lua_State *L, int idx, pid_t pid, const char *name)
{
	lua_pushvalue(L, idx);
	lua_pushinteger(L, pid);
	if (lua_pcall(L, 1, 2, 0) != LUA_OK) {
		lua_pushstring(L, luaL_tolstring(L, -1, NULL));
		return -1;
	}
	if (lua_toboolean(L, -2)) {
		lua_pop(L, 2);
		return 0;
	}
	if (!lua_isstring(L, -1))
		lua_pushfstring(L, "%s failed", name);
	return -1;
}

/* A report that the child waits at a pause step, rather than a failure. */
static bool paused_at(const struct plan *plan, const struct child_report *r)
{
	return r->err == 0 && r->step >= 0 && (size_t)r->step < plan->nsteps && plan->steps[r->step].op == STEP_PAUSE;
}

/* A report that the child is parked (park.c), waiting for start: what it owes us before EOF. */
static bool parked(const struct plan *plan, const struct child_report *r)
{
	return r->err == 0 && r->step >= 0 && (size_t)r->step == plan->nsteps + REPORT_PARKED;
}

/* The first pause step at or after step from (plan->nsteps: none): the next report the child owes us. */
static size_t next_pause(const struct plan *plan, size_t from)
{
	while (from < plan->nsteps && plan->steps[from].op != STEP_PAUSE)
		from++;
	return from;
}

/*
 * Read the child's reports until it has exec'd or parked (1) or failed (the
 * failure pushed); at each pause step, options.paused(pid) runs (at 8)
 * before the child may go on, and its failure kills the child. EOF is exec
 * only once every pause and the park were reported: before, it is the
 * child's death.
 */
static int await_exec(lua_State *L, struct process *proc, const struct child_args *args, struct pipes *p)
{
	size_t owed = next_pause(args->plan, 0);
	bool park_told = false;
	struct child_report r;
	int rc;

	while (read_report(p->report[0], &r)) {
		if (parked(args->plan, &r)) {
			park_told = true;
			continue;
		}
		if (!paused_at(args->plan, &r)) {
			close_pipes(p);
			process_reap(proc);
			return child_failure(L, args->plan, args->file, r);
		}
		owed = next_pause(args->plan, (size_t)r.step + 1);
		if (!lua_isnil(L, 8) && call_option(L, 8, proc->pid, "paused") < 0)
			return stop_child(L, proc, p, "pause", lua_tostring(L, -1), EIO);
		if ((rc = release_child(L, proc, p, "while paused")) != 0)
			return rc;
	}
	if (owed < args->plan->nsteps)
		return lost_child(L, proc, p, "pause", "before its pause step");
	if (args->park_fd >= 0 && !park_told)
		return lost_child(L, proc, p, "park", "before it was parked");
	return 1;
}

/* The parent's side once the child exists: write its maps, release it, read its report. */
static int after_clone(lua_State *L, struct process *proc, const struct child_args *args, pid_t pid,
		       struct pipes *p, int files, int cgroup)
{
	const struct plan *plan = args->plan;
	const char *what;
	int err, rc;

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
		process_reap(proc);
		return spawn_failure(L, what, lua_pushfstring(L, "write /proc/%d/%s: %s", (int)pid, what, strerror(err)),
				     err);
	}
	if (cgroup && cgroup_enter(L, cgroup, pid, &what) < 0)
		return kill_failure(L, proc, p, "cgroup", lua_pushfstring(L, "write %s", what));
	if (args->hold)
		namespace_ids(L, pid, files);
	if (!lua_isnil(L, 6) && call_option(L, 6, pid, "before_release") < 0)
		return stop_child(L, proc, p, "network", lua_tostring(L, -1), EIO);
	if (p->sync[1] >= 0 && (rc = release_child(L, proc, p, "before it was released")) != 0)
		return rc;
	if ((rc = await_exec(L, proc, args, p)) != 1)
		return rc;
	if (p->tty[0] >= 0 && (proc->tty_fd = receive_master(p->tty[0])) < 0)
		return kill_failure(L, proc, p, "tty", "receive the command's terminal");
	close_pipes(p);
	return 1;
}

/*
 * core.spawn(plan, argv [, env [, options]]) -> process
 *   | nil, message, errno, op   (op: the step that failed, "clone", "exec", ...)
 * options: foreground (boolean), fds ({ [fd] = what }, see streams.c), tty
 * ("relay" or "caller"), json_status_fd (where wait writes the exit code),
 * before_release (function(pid) -> true | nil, message: called while the
 * child waits, its namespaces made; e.g. to give it a network), after_exit
 * (function(): called once when the child is reaped, or the spawn failed),
 * paused (function(pid) -> true | nil, message: called while the child waits
 * at each pause step of its plan).
 */
/*
 * core.spawn's options (see above) into args; the fds table left at 5, before_release at 6, after_exit at 7,
 * paused at 8.
 * The tty mode: 0 none, 1 relay, 2 caller.
 */
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
	lua_getfield(L, 4, "before_release"); /* at 6 */
	lua_getfield(L, 4, "after_exit");     /* at 7 */
	lua_getfield(L, 4, "paused");         /* at 8 */
	args->hold = args->hold || !lua_isnil(L, 6);
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
	failed[1] = init_program_place();
	return plan->supervised && (args->init_fd = open_init_program()) < 0 ? -1 : 0;
}

/*
 * Clone, and be the parent until the child has exec'd or failed. Every
 * signal stays blocked meanwhile: none may reach the child before it drops
 * our handlers, and none may interrupt us while errno is still shared with
 * it. A child that hid our memory (child.c, hide_memory) has exec'd when
 * this returns: the memory is ours alone again, dumpable as it was.
 */
static int clone_and_wait(lua_State *L, struct process *proc, struct child_args *args, struct pipes *p, int files,
			  int cgroup)
{
	int dumpable = args->plan->forks ? prctl(PR_GET_DUMPABLE, 0L, 0L, 0L, 0L) : 0;
	sigset_t all, old;
	int result;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	result = after_clone(L, proc, args, clone_child(args->plan, args), p, files, cgroup);
	if (dumpable == 1)
		prctl(PR_SET_DUMPABLE, 1L, 0L, 0L, 0L);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return result;
}

/* What the handle of a started spawn keeps: its cgroup, finished by wait and close; tty "caller": the master, as process.tty. */
static void keep_on_handle(lua_State *L, struct process *proc, int files, int cgroup, int tty)
{
	if (cgroup) {
		lua_pushvalue(L, cgroup);
		lua_setfield(L, files, "cgroup");
	}
	if (tty == 2) {
		if (streams_keep(L, files, "tty", proc->tty_fd, "r+") < 0)
			close(proc->tty_fd);
		proc->tty_fd = -1;
	}
}

static int l_spawn(lua_State *L)
{
	struct plan *plan = luaL_checkudata(L, 1, NSBOX_PLAN_MT);
	struct child_args args = {.plan = plan, .report_fd = -1, .sync_fd = -1, .status_fd = -1, .init_fd = -1,
				  .tty_socket = -1, .park_fd = -1, .cgroup_fd = -1};
	struct pipes p = {{-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}};
	struct passing pass = {.nopened = 0};
	struct process *proc;
	const char *failed[2]; /* the op and the words of a failure before the clone */
	int result, files, json_status_fd, cgroup;
	int tty = read_options(L, plan, &args, &json_status_fd);

	read_command(L, plan, &args);
	/* Everything Lua may allocate is allocated before the clone. */
	proc = process_new(L);
	lua_newtable(L); /* our ends of the command's pipes and terminal: process.stdin, ..., tty */
	files = lua_gettop(L);
	lua_pushvalue(L, files);
	lua_setiuservalue(L, files - 1, 1);
	lua_pushvalue(L, 7); /* options.after_exit (read_options) */
	lua_setiuservalue(L, files - 1, 2);
	cgroup = lua_getfield(L, 4, "cgroup") == LUA_TTABLE ? lua_gettop(L) : 0; /* a cgroups.lua object */
	if (cgroup && cgroup_prepare(L, cgroup, &args) < 0)
		return setup_failure(L, &p, &pass, "cgroup", "open the sandbox's cgroup");
	if (open_all(L, files, &args, &p, &pass, tty != 0, failed) < 0) {
		close_fd(&args.cgroup_fd);
		return setup_failure(L, &p, &pass, failed[0], failed[1]);
	}
	plan_bind_files(plan);
	lua_pushvalue(L, files - 1); /* the handle on top: what a spawn returns */
	result = clone_and_wait(L, proc, &args, &p, files, cgroup);
	proc->json_status_fd = json_status_fd;
	close_fd(&args.cgroup_fd);
	if (result == 1)
		keep_on_handle(L, proc, files, cgroup, tty);
	close_fd(&args.init_fd); /* every process of the spawn has exec'd or exited by now */
	streams_close(&pass);
	if (result != 1)
		process_after_exit(L, files - 1);
	return result;
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

void spawn_open(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"spawn", l_spawn},
		{"environ", l_environ},
		{"init_program", l_init_program},
		{NULL, NULL},
	};

	luaL_setfuncs(L, fns, 0);
	lua_pushinteger(L, NSBOX_MAX_FDS);
	lua_setfield(L, -2, "MAX_PASSED_FDS");
}
