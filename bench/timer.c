/*
 * Whole-command timer: runs commands in turn (A B C, B C A, C A B, ...), each
 * as its own process, and times each run from just before posix_spawn to the
 * return of wait4 on CLOCK_MONOTONIC.
 *
 *   timer WARMUP RUNS CMD [ARG...] [::: CMD [ARG...]]...
 *
 * Why not hyperfine: it runs all of one command's runs, then all of the
 * next's, so a slow drift of this noisy VM (another tenant, page cache,
 * CPU frequency) lands on one command only. Taking turns spreads it evenly,
 * and rotating who goes first keeps any command from always following the
 * same one. posix_spawn clones with CLONE_VM|CLONE_VFORK, so what the timer
 * itself adds is small and the same for every command.
 *
 * One line per command, in the order given:
 *   ok MEDIAN_MS P25_MS P75_MS MAXRSS_KB   (MAXRSS_KB: median of wait4's ru_maxrss)
 *   failed exit N | failed signal N | failed spawn ERRNO-TEXT
 * A command that fails once is not run again; its stderr goes to ours.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#define MAX_COMMANDS 16

extern char **environ;

struct command {
	char **argv;
	double *ms;
	double *rss_kb;
	char failure[64];
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double quantile(double *v, int n, double q)
{
	qsort(v, (size_t)n, sizeof(*v), compare);
	return v[(int)(q * (n - 1) + 0.5)];
}

/* Run once; 0 with the time and peak RSS, or -1 with the failure recorded. */
static int run(struct command *c, const posix_spawn_file_actions_t *actions, double *ms, double *rss_kb)
{
	struct rusage ru;
	double start = now_ms();
	int status, err;
	pid_t pid;

	err = posix_spawnp(&pid, c->argv[0], actions, NULL, c->argv, environ);
	if (err != 0) {
		snprintf(c->failure, sizeof(c->failure), "failed spawn %s", strerror(err));
		return -1;
	}
	if (wait4(pid, &status, 0, &ru) != pid) {
		snprintf(c->failure, sizeof(c->failure), "failed wait4");
		return -1;
	}
	*ms = now_ms() - start;
	*rss_kb = (double)ru.ru_maxrss;
	if (WIFSIGNALED(status))
		snprintf(c->failure, sizeof(c->failure), "failed signal %d", WTERMSIG(status));
	else if (WEXITSTATUS(status) != 0)
		snprintf(c->failure, sizeof(c->failure), "failed exit %d", WEXITSTATUS(status));
	return c->failure[0] ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct command commands[MAX_COMMANDS] = {{0}};
	posix_spawn_file_actions_t actions;
	int warmup, runs, n = 0;

	if (argc < 4 || (warmup = atoi(argv[1])) < 0 || (runs = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: timer WARMUP RUNS CMD [ARG...] [::: CMD [ARG...]]...\n");
		return 1;
	}
	for (int i = 3; i < argc; i++) {
		if (n == MAX_COMMANDS) {
			fprintf(stderr, "timer: at most %d commands\n", MAX_COMMANDS);
			return 1;
		}
		commands[n].argv = &argv[i];
		commands[n].ms = calloc((size_t)runs, sizeof(double));
		commands[n].rss_kb = calloc((size_t)runs, sizeof(double));
		while (i < argc && strcmp(argv[i], ":::") != 0)
			i++;
		argv[i] = NULL; /* ends this command's argv; argv[argc] is NULL already */
		if (commands[n].argv[0] == NULL) {
			fprintf(stderr, "timer: empty command\n");
			return 1;
		}
		n++;
	}
	/* The measured commands' output would only be noise in the report. */
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);

	for (int r = -warmup; r < runs; r++) {
		for (int k = 0; k < n; k++) {
			struct command *c = &commands[(k + r + warmup) % n];
			double ms, rss_kb;

			if (c->failure[0] || run(c, &actions, &ms, &rss_kb) < 0 || r < 0)
				continue;
			c->ms[r] = ms;
			c->rss_kb[r] = rss_kb;
		}
	}
	for (int k = 0; k < n; k++) {
		struct command *c = &commands[k];

		if (c->failure[0])
			printf("%s\n", c->failure);
		else
			printf("ok %.3f %.3f %.3f %.0f\n", quantile(c->ms, runs, 0.5), quantile(c->ms, runs, 0.25),
			       quantile(c->ms, runs, 0.75), quantile(c->rss_kb, runs, 0.5));
	}
	return 0;
}
