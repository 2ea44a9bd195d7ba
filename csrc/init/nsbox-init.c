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
 * statically linked so that it runs inside any root filesystem, and
 * without a C library where bare.h knows the machine (it says why).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "bare.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* The kernel's signal set: a bit per signal in one word (what rt_sig* calls take, not libc's sigset_t). */
typedef unsigned long kernel_sigset;
#define SIGNAL_BIT(sig) (1UL << ((sig) - 1))

static const char usage[] = "nsbox-init: started by nsbox, not by hand\n";

static _Noreturn void refuse(void)
{
	leave(sys(SYS_write, 2, (long)usage, sizeof(usage) - 1, 0) < 0 ? 126 : 125);
}

/* A decimal from 1 to INT32_MAX, or the usage. */
static int number(const char *text)
{
	int64_t value = 0;

	if (*text == '\0')
		refuse();
	for (; *text != '\0'; text++) {
		if (*text < '0' || *text > '9' || (value = value * 10 + (*text - '0')) > INT32_MAX)
			refuse();
	}
	if (value < 1)
		refuse();
	return (int)value;
}

/*
 * Close every descriptor but a and b (a < b): nothing else is ours to hold.
 * common.c's close_all_but does this for any list; this static program is
 * built from this folder alone, without nsbox's headers, and two need no sort.
 */
static void keep_only_fds(int a, int b)
{
	sys(SYS_close_range, 0, a - 1, 0, 0);
	if (b > a + 1)
		sys(SYS_close_range, a + 1, b - 1, 0, 0);
	sys(SYS_close_range, b + 1, ~0U, 0, 0);
}

static void write_retrying(int fd, const void *data, long size)
{
	while (sys(SYS_write, fd, (long)data, size, 0) == -EINTR)
		;
}

/* Let the sandbox start, now that nothing of the caller's can be reached through us. */
static void open_gate(int gate)
{
	write_retrying(gate, "", 1);
	sys(SYS_close, gate, 0, 0, 0);
}

static _Noreturn void leave_like(int status_fd, int status)
{
	write_retrying(status_fd, &status, sizeof(status));
	leave(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static _Noreturn void init_main(int argc, char **argv)
{
	/* The signals passed on, as bubblewrap's init and tini do; SIGCHLD wakes us to reap. */
	static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
	kernel_sigset set = SIGNAL_BIT(SIGCHLD);
	int status_fd, gate, command;
	siginfo_t info;

	if (argc != 4)
		refuse();
	status_fd = number(argv[1]);
	command = number(argv[2]);
	gate = number(argv[3]);
	if (gate == status_fd)
		refuse();
	/* Out of reach of ptrace and /proc/PID/{mem,fd} for a command without CAP_SYS_PTRACE. */
	sys(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0);
	keep_only_fds(status_fd < gate ? status_fd : gate, status_fd < gate ? gate : status_fd);
	open_gate(gate);
	for (unsigned i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		set |= SIGNAL_BIT(forwarded[i]);
	/* Blocked, whatever our starter did, before the first look: none is lost between. */
	sys(SYS_rt_sigprocmask, SIG_BLOCK, (long)&set, 0, sizeof(set));
	for (;;) {
		int status;
		long pid;

		while ((pid = sys(SYS_wait4, -1, (long)&status, WNOHANG, 0)) > 0)
			if (pid == command)
				leave_like(status_fd, status);
		if (sys(SYS_rt_sigtimedwait, (long)&set, (long)&info, 0, sizeof(set)) > 0 && info.si_signo != SIGCHLD)
			sys(SYS_kill, command, info.si_signo, 0, 0);
	}
}
