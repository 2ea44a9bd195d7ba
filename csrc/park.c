/*
 * The OCI runtime's parked container, child side (runtime.c has the
 * parent's): with everything done but the exec, the child closes its report
 * pipe (create's sign that it is parked) and waits in accept() on the exec
 * socket. start connects: the child takes the connection as its new report
 * descriptor and execs, so start reads EOF when the exec happened, or the
 * child's (step, errno) when it failed. Before that, at a pause step (just
 * before pivot_root), the child waits while create runs the hooks the OCI
 * spec places there (spawn.c's side). Async-signal-safe, nothing allocated.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plan.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/*
 * Close every descriptor but stdio, the passed ones and the two the park
 * needs: nothing of the caller's (an engine's sync pipes) stays open in a
 * process that waits for start, even though exec would close it.
 */
static void close_all_but_needed(const struct child_args *args)
{
	unsigned int keep[NSBOX_MAX_FDS + 2], from = 3;
	int n = 0;

	keep[n++] = (unsigned int)args->report_fd;
	keep[n++] = (unsigned int)args->park_fd;
	for (int i = 0; i < args->nfds; i++)
		keep[n++] = (unsigned int)args->fds[i].to;
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			unsigned int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (int i = 0; i < n; i++) {
		if (keep[i] > from)
			syscall(SYS_close_range, from, keep[i] - 1, 0U);
		if (keep[i] + 1 > from)
			from = keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0U); /* an old kernel without it: exec still closes them */
}

/*
 * A pause step: a report of this step without an error tells the parent we
 * are there; its byte on the sync pipe lets us go on. Without it (a hook
 * failed and we are being killed, or the parent died) there is nothing to
 * go on with. The parent runs code meanwhile, so the plan pauses only in a
 * process that does not share its memory (spawn.c).
 */
void runtime_pause(const struct child_args *args, size_t step)
{
	struct child_report report = {.step = (int32_t)step, .err = 0};
	char go;
	ssize_t n;

	do
		n = write(args->report_fd, &report, sizeof(report));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(report))
		_exit(125);
	do
		n = read(args->sync_fd, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(125);
}

void runtime_park(const struct child_args *args)
{
	int conn;

	close_all_but_needed(args);
	close(args->report_fd); /* create reads EOF: the container is parked */
	do
		conn = accept4(args->park_fd, NULL, NULL, SOCK_CLOEXEC);
	while (conn < 0 && errno == EINTR);
	if (conn < 0)
		_exit(125); /* nobody is left to tell */
	close(args->park_fd);
	if (dup3(conn, args->report_fd, O_CLOEXEC) < 0)
		_exit(125);
	close(conn);
}

