/*
 * The cloned child: run the plan's steps in order, then exec. Only
 * async-signal-safe calls, nothing allocated: this process shares the
 * memory of a Lua interpreter (CLONE_VM) until its exec, on a stack of its
 * own, and the interpreter's heap, locks and stdio are not its to touch. A
 * failure is written to the report pipe as (step index, errno), and the
 * child leaves with _exit so no atexit handler or stdio buffer of the
 * parent's runs in it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "plan.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#define NSBOX_CLOSE_RANGE_CLOEXEC (1U << 2)

/* execvp's search path when the command's environment has no PATH. */
static const char default_path[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

extern char **environ;

static _Noreturn void report_and_exit(const struct child_args *args, size_t step)
{
	struct child_report report = {.step = (int32_t)step, .err = errno};
	ssize_t n;

	do
		n = write(args->report_fd, &report, sizeof(report));
	while (n < 0 && errno == EINTR);
	_exit(125);
}

/*
 * Raw syscalls: glibc's wrappers would try to broadcast the change to other
 * threads, machinery this copy of the interpreter must not touch.
 */
static int switch_identity(const struct step *step)
{
	if (step->keep_caps && prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) < 0)
		return -1;
	if (step->ngroups >= 0) {
		if (syscall(SYS_setgroups, (size_t)step->ngroups, step->groups) < 0)
			return -1;
	} else if (syscall(SYS_setgroups, (size_t)0, NULL) < 0 && errno != EPERM) {
		return -1; /* EPERM: setgroups is denied in this user namespace; nothing to drop */
	}
	if (syscall(SYS_setresgid, step->gid, step->gid, step->gid) < 0 ||
	    syscall(SYS_setresuid, step->uid, step->uid, step->uid) < 0)
		return -1;
	return step->keep_caps ? prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) : 0;
}

/*
 * The parent-death signal, then a check that the parent did not die before
 * it was set: the parent holds the report pipe's read end until exec, so a
 * write end reporting POLLERR means it is gone.
 */
static int die_with_parent(int report_fd)
{
	struct pollfd pfd = {.fd = report_fd, .events = POLLOUT};

	if (prctl(PR_SET_PDEATHSIG, (long)SIGKILL, 0L, 0L, 0L) < 0 || poll(&pfd, 1, 0) < 0)
		return -1;
	if (pfd.revents & (POLLERR | POLLHUP))
		_exit(125);
	return 0;
}

/* One step of a plan (a fork step is run_plan's own); report_fd is the report pipe's write end. */
int child_run_step(const struct step *step, int report_fd, struct owned_mounts *owned)
{
	switch (step->op) {
	case STEP_HOSTNAME:
		return sethostname(step->source, strlen(step->source));
	case STEP_DOMAINNAME:
		return setdomainname(step->source, strlen(step->source));
	case STEP_MOUNT:
	case STEP_BIND:
	case STEP_MASK:
	case STEP_REMOUNT_RO:
		return mount_run_step(step, owned);
	case STEP_LOOPBACK:
		return net_loopback_up();
	case STEP_CHDIR:
		return chdir(step->target);
	case STEP_RLIMIT:
		return setrlimit(step->resource, &(struct rlimit){.rlim_cur = step->soft, .rlim_max = step->hard});
	case STEP_DROP_BOUNDING:
		return caps_drop_bounding(step->caps);
	case STEP_IDENTITY:
		return switch_identity(step);
	case STEP_CAPS:
		return caps_apply(step->caps);
	case STEP_DROP_CAPS:
		return caps_drop(step->cap_mask);
	case STEP_NO_NEW_PRIVS:
		return prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L);
	case STEP_DIE_WITH_PARENT:
		return die_with_parent(report_fd);
	case STEP_UMASK:
		umask(step->mode);
		return 0;
	case STEP_JOIN:
		return ns_join(step);
	case STEP_UNSHARE:
		return unshare(step->nstypes);
	case STEP_TIME_OFFSETS:
		return write_path("/proc/self/timens_offsets", step->source);
	case STEP_FORK:  /* run_plan's own */
	case STEP_PAUSE: /* run_plan's own */
	case STEP_MKDIR:
	case STEP_WRITE_FILE:
	case STEP_SYMLINK:
	case STEP_SYSCTL:
	case STEP_PIVOT_ROOT:
	case STEP_CHROOT:
		return rootfs_run_step(step, owned);
	case STEP_SECCOMP: /* exec_or_report's, so that neither nsbox's work nor nsbox-init runs filtered */
		return 0;
	}
	errno = EINVAL;
	return -1;
}

/*
 * Wait until the parent has written the id maps: nothing works as root
 * inside before. A plan with a pause step keeps the pipe, to wait there again.
 */
static void wait_for_parent(int fd, bool keep)
{
	char byte;
	ssize_t n;

	do
		n = read(fd, &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(125); /* the parent failed and has the error to tell */
	if (!keep)
		close(fd);
}

/* The command must not inherit the interpreter's descriptors beyond stdio. */
static void cloexec_inherited_fds(void)
{
	struct rlimit lim;

	if (syscall(SYS_close_range, 3U, ~0U, NSBOX_CLOSE_RANGE_CLOEXEC) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || lim.rlim_cur > 65536)
		lim.rlim_cur = 65536;
	for (int fd = 3; fd < (int)lim.rlim_cur; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static const char *env_path(char *const envp[])
{
	for (size_t i = 0; envp[i]; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			return envp[i] + 5;
	return default_path;
}

/* execvp's search, done by hand: the PATH is the command's, and nothing may be allocated. */
static void exec_command(const char *file, char *const argv[], char *const envp[])
{
	size_t file_len = strlen(file);
	bool denied = false;
	char buf[PATH_MAX];

	if (file_len == 0) {
		errno = ENOENT;
		return;
	}
	if (strchr(file, '/')) {
		execve(file, argv, envp);
		return;
	}
	for (const char *dir = env_path(envp); dir; ) {
		const char *end = strchr(dir, ':');
		size_t dir_len = end ? (size_t)(end - dir) : strlen(dir);

		if (dir_len + 1 + file_len < sizeof(buf)) {
			memcpy(buf, dir_len ? dir : ".", dir_len ? dir_len : 1);
			dir_len = dir_len ? dir_len : 1;
			buf[dir_len] = '/';
			memcpy(buf + dir_len + 1, file, file_len + 1);
			execve(buf, argv, envp);
			if (errno == EACCES)
				denied = true;
			else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE && errno != ENODEV)
				return;
		}
		dir = end ? end + 1 : NULL;
	}
	errno = denied ? EACCES : ENOENT;
}

/*
 * The descriptors the caller passes, at the numbers it asked for: each is
 * first copied above every target (close-on-exec), so that no move
 * overwrites a source still to be moved.
 */
static int pass_fds(const struct child_args *args)
{
	int copies[NSBOX_MAX_FDS];

	for (int i = 0; i < args->nfds; i++)
		if ((copies[i] = fcntl(args->fds[i].from, F_DUPFD_CLOEXEC, args->fds_above)) < 0)
			return -1;
	for (int i = 0; i < args->nfds; i++)
		if (dup2(copies[i], args->fds[i].to) < 0)
			return -1;
	return 0;
}

/* The terminal as the command's 0, 1 and 2 (the caller may not pass others there: checked before). */
static int use_terminal(int terminal)
{
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(terminal, fd) < 0)
			return -1;
	return 0;
}

/*
 * Child side, async-signal-safe. Without CAP_SYS_ADMIN the kernel takes a
 * filter only from a process that can gain no privileges by exec, lest a
 * filter fool a set-user-ID program.
 */
static int install_filter(const struct step *step)
{
	if (step->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, step->seccomp_flags, step->filter);
}

static _Noreturn void exec_or_report(const struct child_args *args, int terminal)
{
	sigset_t none;

	if (pass_fds(args) < 0 || (terminal >= 0 && use_terminal(terminal) < 0))
		report_and_exit(args, args->plan->nsteps + REPORT_FDS);
	if (args->park_fd >= 0)
		runtime_park(args);

	/* The command starts with no signal blocked, whatever its parent had. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (args->plan->seccomp && install_filter(args->plan->seccomp) < 0)
		report_and_exit(args, (size_t)(args->plan->seccomp - args->plan->steps));
	exec_command(args->file, args->argv, args->envp ? args->envp : environ);
	report_and_exit(args, args->plan->nsteps + REPORT_EXEC);
}

/*
 * Become nsbox-init (init/nsbox-init.c), watching our child, the sandbox:
 * an exec'd program holding nothing of the caller (no memory, environment,
 * or descriptor but the status pipe, and the gate until it opens it). If
 * the exec fails, the child waiting at the gate is killed and reaped before
 * we report: it runs on the caller's stacks, in the caller's memory, which
 * the next spawn reuses.
 */
static _Noreturn void become_init(const struct child_args *args, pid_t child, int gate)
{
	char fd_text[12], pid_text[12], gate_text[12];
	char *const envp[] = {NULL};
	char *const argv[] = {(char *)"nsbox-init", decimal(fd_text, (unsigned int)args->status_fd),
			      decimal(pid_text, (unsigned int)child), decimal(gate_text, (unsigned int)gate), NULL};
	int err;

	if (fcntl(args->status_fd, F_SETFD, 0) == 0 && fcntl(gate, F_SETFD, 0) == 0)
		syscall(SYS_execveat, args->init_fd, "", argv, envp, AT_EMPTY_PATH);
	err = errno;
	kill(child, SIGKILL);
	while (waitpid(child, NULL, __WALL) < 0 && errno == EINTR)
		;
	errno = err;
	report_and_exit(args, args->plan->nsteps + REPORT_INIT);
}

/* Where a process made by this child starts: the plan from a step on, on a given child stack. */
struct resume {
	const struct child_args *args;
	size_t step;
	int depth;
	int terminal; /* the command's: -1, or the slave of its pseudo-terminal */
	struct owned_mounts *owned;
	int gate[2]; /* nsbox-init writes a byte on gate[1] once it is out of our reach */
};

/*
 * Until nsbox-init has made itself non-dumpable and closed what it had of
 * the caller, /proc/1/mem and /proc/1/fd of our supervisor would be open to
 * us: its memory is still the caller's (CLONE_VM), its descriptors the
 * caller's too. So nothing of the sandbox runs before init's word; without
 * it (init could not start, and kills us before it says why) we leave.
 */
static void wait_for_init(const struct resume *r)
{
	char go;
	ssize_t n;

	close(r->gate[1]);
	do
		n = read(r->gate[0], &go, 1);
	while (n < 0 && errno == EINTR);
	close(r->gate[0]);
	if (n != 1)
		_exit(127);
}

static _Noreturn void run_plan(const struct child_args *args, size_t from, int depth, struct owned_mounts *owned);

static int resume_plan(void *arg)
{
	const struct resume *r = arg;

	wait_for_init(r);
	run_plan(r->args, r->step, r->depth, r->owned);
}

/*
 * The command under init: with a terminal, a process group of its own in
 * the terminal's foreground, as a shell starts a job (init leads the session
 * the terminal belongs to).
 */
static int start_command(void *arg)
{
	const struct resume *r = arg;

	wait_for_init(r);
	if (r->terminal >= 0 && (setpgid(0, 0) < 0 || tcsetpgrp(r->terminal, getpid()) < 0))
		report_and_exit(r->args, r->args->plan->nsteps + REPORT_TTY);
	exec_or_report(r->args, r->terminal);
}

/* Give the parent our end of the terminal, over the socket it made for it. */
static int send_master(int socket_fd, int master)
{
	struct fd_message m;

	fd_message_init(&m);
	memcpy(CMSG_DATA(CMSG_FIRSTHDR(&m.msg)), &master, sizeof(int));
	return sendmsg(socket_fd, &m.msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/*
 * tty: a pseudo-terminal from the sandbox's own /dev/ptmx (its devpts, where
 * the command's ttyname finds it), ours as the controlling terminal of a
 * session we lead, the caller's window size; the master goes to the parent.
 * Returns the slave.
 */
static int open_terminal(const struct child_args *args)
{
	int unlock = 0;
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int slave;

	if (master < 0)
		return -1;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 ||
	    (slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 ||
	    (getsid(0) != getpid() && setsid() < 0) || ioctl(slave, TIOCSCTTY, 0L) < 0 ||
	    (args->has_winsize && ioctl(slave, TIOCSWINSZ, &args->winsize) < 0) || send_master(args->tty_socket, master) < 0)
		return close_keeping_errno(master, -1);
	close(master);
	return slave;
}

/*
 * Start fn in a child sharing our memory (no page is copied) on the next
 * child stack, and become its nsbox-init. The child waits at the gate until
 * init is out of its reach (wait_for_init): until then it runs no step and
 * touches neither errno nor the heap, so the two may run side by side. A
 * failure is reported as report_step.
 */
static _Noreturn void supervise(const struct child_args *args, int (*fn)(void *), struct resume *r,
				size_t report_step)
{
	pid_t child;

	if (r->depth >= NSBOX_CHILD_STACKS) {
		errno = ENOMEM;
		report_and_exit(args, report_step);
	}
	if (pipe2(r->gate, O_CLOEXEC) < 0)
		report_and_exit(args, report_step);
	child = clone(fn, args->stacks[r->depth], CLONE_VM | SIGCHLD, (void *)r);
	if (child < 0)
		report_and_exit(args, report_step);
	close(r->gate[0]);
	become_init(args, child, r->gate[1]);
}

/*
 * The rest of a plan that joined a PID namespace runs where that
 * namespace's processes can see it, still sharing the caller's memory and
 * holding its descriptors until exec. Non-dumpable, its /proc/PID/mem and
 * fd and ptrace are closed to them (short of CAP_SYS_PTRACE over the
 * caller). The flag is the memory's, so the caller has it too until the
 * spawn is over (spawn.c puts it back).
 */
static int hide_memory(void)
{
	return prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L);
}

/*
 * Run the plan from step from. A fork step hands the rest to a child (PID
 * and time namespaces that were joined or unshared take only children made
 * afterwards) and stays as its relay; with init, the command is the child
 * of nsbox-init, PID 1 of its namespace.
 */
static _Noreturn void run_plan(const struct child_args *args, size_t from, int depth, struct owned_mounts *owned)
{
	const struct plan *plan = args->plan;
	struct resume next = {.args = args, .depth = depth + 1, .terminal = -1};

	for (size_t i = from; i < plan->nsteps; i++) {
		if (plan->steps[i].op == STEP_FORK) {
			struct resume rest = {.args = args, .step = i + 1, .depth = depth + 1, .owned = owned};

			if ((plan->die_with_parent && die_with_parent(args->report_fd) < 0) || hide_memory() < 0)
				report_and_exit(args, i);
			supervise(args, resume_plan, &rest, i);
		}
		if (plan->steps[i].op == STEP_PAUSE) {
			runtime_pause(args, i);
			continue;
		}
		if (child_run_step(&plan->steps[i], args->report_fd, owned) < 0)
			report_and_exit(args, i);
	}
	cloexec_inherited_fds();
	if (args->tty_socket >= 0 && (next.terminal = open_terminal(args)) < 0)
		report_and_exit(args, plan->nsteps + REPORT_TTY);
	if (plan->init)
		supervise(args, start_command, &next, plan->nsteps + REPORT_INIT);
	exec_or_report(args, next.terminal);
}

/*
 * Like a shell starting a job: a process group of our own in the terminal's
 * foreground, so that job control inside works and the terminal's signals
 * reach the sandbox. The call is made from what is still a background group:
 * SIGTTOU stays blocked (the command's mask is reset before exec).
 */
static void take_terminal(void)
{
	sigset_t ttou;

	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, NULL);
	setpgid(0, 0);
	tcsetpgrp(STDIN_FILENO, getpgrp());
}

/*
 * A handler of the interpreter's (lua.c's SIGINT one sets a hook on the
 * shared Lua state) must never run in a child that shares its memory: every
 * signal is blocked across the clone, and the defaults go back on each
 * handled signal before the command's mask is cleared.
 */
static void default_handled_signals(void)
{
	struct sigaction sa;

	for (int sig = 1; sig < NSIG; sig++) {
		if (sig >= 32 && sig < SIGRTMIN)
			continue; /* glibc's own signals, which sigaction refuses */
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN) {
			sa.sa_handler = SIG_DFL;
			sa.sa_flags = 0;
			sigaction(sig, &sa, NULL);
		}
	}
}

/*
 * The command's terminal: an interactive job keeps the caller's session and
 * takes the foreground; anything else gets a session of its own, without a
 * controlling terminal, so it cannot push input into the caller's (TIOCSTI).
 */
static void set_session(const struct child_args *args)
{
	if (args->foreground)
		take_terminal();
	else if (setsid() < 0)
		report_and_exit(args, args->plan->nsteps + REPORT_SESSION);
}

_Noreturn void child_main(const struct child_args *args)
{
	struct owned_mounts owned = {.n = 0};

	/*
	 * A CLONE_VM child shares errno (the parent thread's TLS) with the
	 * parent, which writes the id maps meanwhile: nothing here may set it
	 * before the parent's go-ahead, after which the parent only sleeps in
	 * read() until our exec or report. Closing our copies of the parent's
	 * pipe ends cannot fail; holding the parent's end of the sync socket
	 * would hide the parent's death from us.
	 */
	for (int i = 0; i < 4; i++)
		if (args->parent_fds[i] >= 0)
			close(args->parent_fds[i]);
	if (args->sync_fd >= 0)
		wait_for_parent(args->sync_fd, args->plan->pauses);
	default_handled_signals();
	set_session(args);
	run_plan(args, 0, 0, &owned);
}
