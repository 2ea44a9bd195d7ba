/*
 * nsbox-init STATUS_FD PID GATE_FD: what stays with a sandbox. PID, already our
 * child, is the command (init = true: we are PID 1 of its namespace) or the
 * rest of the plan (a joined or later-unshared PID namespace: we are its
 * relay). We pass signals on to it, reap every child we are handed (as a
 * namespace's init, every orphan of it), and leave when it does: its wait
 * status written to STATUS_FD (our own death by its signal could not repeat
 * it: the kernel shields a namespace's init) and its code, or 128+N for
 * signal N, as ours. PID waits for a byte on GATE_FD before it runs
 * anything of the sandbox's: until we are non-dumpable and hold nothing of
 * the caller's, it could reach into us through /proc/1.
 *
 * Exec'd by nsbox's child so that it holds nothing of the caller: no memory,
 * environment or descriptor of the interpreter that spawned the sandbox;
 * statically linked so that it runs inside any root filesystem.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

static const char usage[] = "nsbox-init: started by nsbox, not by hand\n";

static _Noreturn void refuse(void)
{
	_exit(write(STDERR_FILENO, usage, sizeof(usage) - 1) < 0 ? 126 : 125);
}

static int number(const char *text)
{
	char *end;
	long value = strtol(text, &end, 10);

	if (*text == '\0' || *end != '\0' || value < 1 || value > INT32_MAX)
		refuse();
	return (int)value;
}

/*
 * Close every descriptor but a and b (a < b): nothing else is ours to hold.
 * common.c's close_all_but does this for any list; this static program is
 * built from this one file, without nsbox's headers, and two need no sort.
 */
static void keep_only_fds(int a, int b)
{
	syscall(SYS_close_range, 0U, (unsigned int)a - 1, 0U);
	if (b > a + 1)
		syscall(SYS_close_range, (unsigned int)a + 1, (unsigned int)b - 1, 0U);
	syscall(SYS_close_range, (unsigned int)b + 1, ~0U, 0U);
}

/* Let the sandbox start, now that nothing of the caller's can be reached through us. */
static void open_gate(int gate)
{
	while (write(gate, "", 1) < 0 && errno == EINTR)
		;
	close(gate);
}

static _Noreturn void leave_like(int status_fd, int status)
{
	while (write(status_fd, &status, sizeof(status)) < 0 && errno == EINTR)
		;
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

int main(int argc, char **argv)
{
	/* The signals passed on, as bubblewrap's init and tini do; SIGCHLD wakes us to reap. */
	static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
	int status_fd, gate;
	pid_t command;
	sigset_t set;
	siginfo_t info;

	if (argc != 4)
		refuse();
	status_fd = number(argv[1]);
	command = number(argv[2]);
	gate = number(argv[3]);
	if (gate == status_fd)
		refuse();
	/* Out of reach of ptrace and /proc/PID/{mem,fd} for a command without CAP_SYS_PTRACE. */
	prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L);
	keep_only_fds(status_fd < gate ? status_fd : gate, status_fd < gate ? gate : status_fd);
	open_gate(gate);
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	sigaddset(&set, SIGCHLD);
	/* Blocked, whatever our starter did, before the first look: none is lost between. */
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		int status;
		pid_t pid;

		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			if (pid == command)
				leave_like(status_fd, status);
		if (sigwaitinfo(&set, &info) > 0 && info.si_signo != SIGCHLD)
			kill(command, info.si_signo);
	}
}
