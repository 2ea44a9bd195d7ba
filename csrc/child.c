/*
 * The cloned child: run the plan's steps in order, then exec. Only
 * async-signal-safe calls, nothing allocated: this process is a copy of a
 * Lua interpreter that may have been anywhere in malloc when it was cloned.
 * A failure is written to the report pipe as (step index, errno), and the
 * child leaves with _exit so no atexit handler or stdio buffer of the
 * parent's runs twice.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "nsbox.h"

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

static int fork_supervised(const struct child_args *args);

static int run_step(const struct step *step, const struct child_args *args, struct owned_mounts *owned)
{
	switch (step->op) {
	case STEP_HOSTNAME:
		return sethostname(step->source, strlen(step->source));
	case STEP_DOMAINNAME:
		return setdomainname(step->source, strlen(step->source));
	case STEP_MOUNT:
		return mount_run_step(step, owned);
	case STEP_BIND:
		return mount_run_bind(step, owned);
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
		return die_with_parent(args->report_fd);
	case STEP_UMASK:
		umask(step->mode);
		return 0;
	case STEP_JOIN:
		return ns_join(step);
	case STEP_UNSHARE:
		return unshare(step->nstypes);
	case STEP_TIME_OFFSETS:
		return rootfs_write_path("/proc/self/timens_offsets", step->source);
	case STEP_FORK:
		return fork_supervised(args);
	case STEP_MKDIR:
	case STEP_WRITE_FILE:
	case STEP_SYMLINK:
	case STEP_MASK:
	case STEP_SYSCTL:
	case STEP_PIVOT_ROOT:
	case STEP_CHROOT:
	case STEP_REMOUNT_RO:
		return rootfs_run_step(step, owned);
	}
	errno = EINVAL;
	return -1;
}

/* Wait until the parent has written the id maps: nothing works as root inside before. */
static void wait_for_parent(int fd)
{
	char byte;
	ssize_t n;

	do
		n = read(fd, &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(125); /* the parent failed and has the error to tell */
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
static void exec_command(char *const argv[], char *const envp[])
{
	const char *file = argv[0];
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

static _Noreturn void exec_or_report(const struct child_args *args)
{
	sigset_t none;

	/* The command starts with no signal blocked, whatever its parent had. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	exec_command(args->argv, args->envp ? args->envp : environ);
	report_and_exit(args, args->plan->nsteps + REPORT_EXEC);
}

/* The signals init passes on to the command, as bubblewrap's init and tini do. */
static void forwarded_signals(sigset_t *set)
{
	static const int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

	sigemptyset(set);
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		sigaddset(set, signals[i]);
}

/*
 * What stays behind with the command (init, relay) is a copy of the caller:
 * its memory holds the interpreter, its descriptors the caller's files. Made
 * non-dumpable before the command exists, it is out of reach of ptrace and
 * of /proc/PID/{mem,environ,fd}: that would need CAP_SYS_PTRACE in the user
 * namespace the copied memory belongs to, the caller's, which the command
 * never holds. The command's exec makes it dumpable again.
 */
static pid_t fork_child(void)
{
	if (prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) < 0)
		return -1;
	return (pid_t)syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, 0UL);
}

/* Close every descriptor but fd: a supervisor needs only its status pipe. */
static void keep_only_fd(int fd)
{
	if (fd > 0)
		syscall(SYS_close_range, 0U, (unsigned int)fd - 1, 0U);
	syscall(SYS_close_range, (unsigned int)fd + 1, ~0U, 0U);
}

/* Leave like the command did, telling the parent its exact wait status. */
static _Noreturn void init_exit(int status_fd, int status)
{
	ssize_t n;

	do
		n = write(status_fd, &status, sizeof(status));
	while (n < 0 && errno == EINTR);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* Block what a supervisor waits for; the command unblocks it before exec. */
static void block_supervised_signals(sigset_t *set)
{
	forwarded_signals(set);
	sigaddset(set, SIGCHLD);
	sigprocmask(SIG_BLOCK, set, NULL);
}

/*
 * Stay with the command: pass signals on to it, reap every child we are
 * handed (as a namespace's init, every orphan of it), and leave when the
 * command does, telling the parent its exact wait status: our own death by
 * a signal could not repeat it (the kernel shields a namespace's init).
 */
static _Noreturn void supervise(const struct child_args *args, pid_t command, sigset_t *set)
{
	siginfo_t info;

	keep_only_fd(args->status_fd);
	for (;;) {
		int status;
		pid_t pid;

		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			if (pid == command)
				init_exit(args->status_fd, status);
		if (sigwaitinfo(set, &info) > 0 && info.si_signo != SIGCHLD)
			kill(command, info.si_signo);
	}
}



/* init = true: PID 1 of the new PID namespace runs the command as its child. */
static _Noreturn void run_init(const struct child_args *args)
{
	sigset_t set;
	pid_t command;

	prctl(PR_SET_NAME, (unsigned long)"nsbox-init", 0L, 0L, 0L); /* ps shows what it is, not a copy of lua */
	block_supervised_signals(&set);
	command = fork_child();
	if (command < 0)
		report_and_exit(args, args->plan->nsteps + REPORT_INIT_FORK);
	if (command == 0)
		exec_or_report(args);
	supervise(args, command, &set);
}

/*
 * The fork step: PID and time namespaces that were joined or unshared take
 * only the children made afterwards, so the rest of the plan runs in a child
 * while this process stays behind as its supervisor.
 */
static int fork_supervised(const struct child_args *args)
{
	sigset_t set, none;
	pid_t child;

	if (args->plan->die_with_parent && die_with_parent(args->report_fd) < 0)
		return -1;
	block_supervised_signals(&set);
	child = fork_child();
	if (child < 0)
		return -1;
	if (child > 0) {
		prctl(PR_SET_NAME, (unsigned long)"nsbox-relay", 0L, 0L, 0L);
		supervise(args, child, &set);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	return 0;
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
	const struct plan *plan = args->plan;
	struct owned_mounts owned = {.n = 0};

	/*
	 * A CLONE_VM child shares errno (the parent thread's TLS) with the
	 * parent, which writes the id maps meanwhile: nothing here may set it
	 * before the parent's go-ahead, after which the parent only sleeps in
	 * read() until our exec or report. Closing our copies of the parent's
	 * pipe ends cannot fail; holding the sync pipe's write end would hide
	 * the parent's death from us.
	 */
	for (int i = 0; i < 3; i++)
		if (args->parent_fds[i] >= 0)
			close(args->parent_fds[i]);
	if (args->sync_fd >= 0)
		wait_for_parent(args->sync_fd);
	if (args->shares_memory)
		default_handled_signals();
	set_session(args);
	for (size_t i = 0; i < plan->nsteps; i++)
		if (run_step(&plan->steps[i], args, &owned) < 0)
			report_and_exit(args, i);
	cloexec_inherited_fds();
	if (plan->init)
		run_init(args);
	exec_or_report(args);
}
