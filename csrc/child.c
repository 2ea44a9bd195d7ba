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
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
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

static int run_step(const struct step *step)
{
	switch (step->op) {
	case STEP_HOSTNAME:
		return sethostname(step->source, strlen(step->source));
	case STEP_DOMAINNAME:
		return setdomainname(step->source, strlen(step->source));
	case STEP_MOUNT:
		return mount_run_step(step);
	case STEP_BIND:
		return mount_run_bind(step);
	case STEP_LOOPBACK:
		return net_loopback_up();
	case STEP_CHDIR:
		return chdir(step->target);
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

_Noreturn void child_main(const struct child_args *args)
{
	const struct plan *plan = args->plan;
	char *const *envp = args->envp ? args->envp : environ;
	sigset_t none;

	/* The command starts with no signal blocked, whatever the interpreter had. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (args->sync_fd >= 0)
		wait_for_parent(args->sync_fd);
	for (size_t i = 0; i < plan->nsteps; i++)
		if (run_step(&plan->steps[i]) < 0)
			report_and_exit(args, i);
	cloexec_inherited_fds();
	exec_command(args->argv, envp);
	report_and_exit(args, plan->nsteps);
}
