/*
 * subreaper COMMAND [ARG...]: run the test suite as the child of a child
 * subreaper, so that every process the suite orphans is reparented here
 * rather than to the host's init. The last spec then looks only at this
 * process's descendants (NSBOX_SUBREAPER names it) and is blind to everyone
 * else's processes on a shared machine. Orphans that exit are reaped as init
 * would; once COMMAND exits, the ones still running are killed, so a failed
 * run leaves nothing behind either. Exits with COMMAND's status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Wait for any child; the command's own status when it was the one. */
static pid_t reap_one(pid_t command, int *status)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, __WALL)) < 0 && errno == EINTR)
		;
	if (pid == command)
		*status = st;
	return pid;
}

/* Our children, as /proc lists them: all orphans of the suite once the command is gone. */
static void kill_children(void)
{
	char path[64];
	FILE *list;
	int pid;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)getpid(), (int)getpid());
	list = fopen(path, "r");
	if (list == NULL)
		return;
	while (fscanf(list, "%d", &pid) == 1)
		kill(pid, SIGKILL);
	fclose(list);
}

int main(int argc, char **argv)
{
	char self[32];
	int status = 0;
	pid_t command;

	if (argc < 2) {
		fprintf(stderr, "usage: %s COMMAND [ARG...]\n", argv[0]);
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		perror("subreaper: PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	snprintf(self, sizeof(self), "%d", (int)getpid());
	setenv("NSBOX_SUBREAPER", self, 1);
	/* A ^C is for the suite; we stay to clean up after it. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	command = fork();
	if (command < 0) {
		perror("subreaper: fork");
		return 1;
	}
	if (command == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	while (reap_one(command, &status) != command)
		;
	/* Killing an orphan may orphan its children to us: repeat until none is left. */
	do
		kill_children();
	while (reap_one(command, &status) > 0);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
