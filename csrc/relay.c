/*
 * tty = true, nsbox relaying: between the caller's stdin and stdout and the
 * master of the command's pseudo-terminal until the command's process ends.
 * The caller's terminal, when stdin is one, is in raw mode meanwhile (the
 * command's terminal does the line editing and the signals) and restored on
 * every way out; its window size follows SIGWINCH; SIGINT, SIGTERM and
 * SIGHUP sent to us are passed on, as without a terminal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "nsbox.h"

static void copy_window_size(int master)
{
	struct winsize size;

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &size) == 0)
		ioctl(master, TIOCSWINSZ, &size);
}

/* All of buf to fd, waiting when fd (the non-blocking master) is full. */
static int write_waiting(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};

			poll(&p, 1, -1);
			continue;
		}
		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		}
	}
	return 0;
}

/* Copy what is there from one to the other: false at end of input (or when the output is gone). */
static bool pass_on(int from, int to)
{
	char buf[4096];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0)
		return errno == EAGAIN || errno == EINTR; /* EIO on a master: every slave is closed */
	return n > 0 && write_waiting(to, buf, (size_t)n) == 0;
}

/* What a signal for us means: pass it on, follow the window, or (SIGCHLD) look whether pid ended. */
static bool on_signal(int sfd, pid_t pid, int master, int *status)
{
	struct signalfd_siginfo info;

	while (read(sfd, &info, sizeof(info)) == (ssize_t)sizeof(info)) {
		if (info.ssi_signo == SIGWINCH)
			copy_window_size(master);
		else if (info.ssi_signo != SIGCHLD)
			kill(pid, (int)info.ssi_signo);
	}
	return waitpid(pid, status, WNOHANG | __WALL) == pid;
}

/* The loop: stdin to the master, the master to stdout, until pid is reaped and its output drained. */
static void relay(int sfd, pid_t pid, int master, int *status)
{
	bool input = true, output = true;
	bool ended = waitpid(pid, status, WNOHANG | __WALL) == pid; /* a SIGCHLD before we blocked it is lost */

	while (!ended || output) {
		struct pollfd p[3] = {
			{.fd = sfd, .events = POLLIN},
			{.fd = input ? STDIN_FILENO : -1, .events = POLLIN},
			{.fd = output ? master : -1, .events = POLLIN},
		};

		/* Once pid ended, what is left in the master is read without waiting for more. */
		if (poll(p, 3, ended ? 0 : -1) <= 0 && ended)
			break;
		if (p[0].revents)
			ended = ended || on_signal(sfd, pid, master, status);
		if (p[1].revents && !pass_on(STDIN_FILENO, master)) {
			input = false;
			write_waiting(master, "\004", 1); /* end of input, for a command reading its terminal */
		}
		if (p[2].revents && !pass_on(master, STDOUT_FILENO))
			output = false;
	}
}

/* Relay until pid (our child) ends; its wait status in *status. */
void terminal_relay(pid_t pid, int master, int *status)
{
	sigset_t set, old;
	struct termios saved, raw;
	bool is_terminal = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	struct timespec now = {0, 0};
	int sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, &old);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (is_terminal) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSADRAIN, &raw);
	}
	if (sfd >= 0)
		relay(sfd, pid, master, status);
	else
		while (waitpid(pid, status, __WALL) < 0 && errno == EINTR)
			;
	if (is_terminal)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
	if (sfd >= 0)
		close(sfd);
	/* Signals that raced the end were meant for the sandbox, which is gone. */
	sigdelset(&set, SIGCHLD);
	while (sigtimedwait(&set, NULL, &now) > 0)
		;
	sigprocmask(SIG_SETMASK, &old, NULL);
}
