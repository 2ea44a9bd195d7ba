/*
 * The OCI runtime's parked container, child side (runtime.c has the
 * parent's): with everything done but the exec, the child reports that it
 * is parked, closes its report pipe and waits in accept() on the exec
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
#include <unistd.h>

#include "plan.h"

/*
 * Close every descriptor but stdio, the passed ones and the two the park
 * needs: nothing of the caller's (an engine's sync pipes) stays open in a
 * process that waits for start, even though exec would close it.
 */
static void close_all_but_needed(const struct child_args *args)
{
	int keep[NSBOX_MAX_FDS + 5] = {0, 1, 2, args->report_fd, args->park_fd};
	int n = 5;

	for (int i = 0; i < args->nfds; i++)
		keep[n++] = args->fds[i].to;
	close_all_but(keep, n); /* an old kernel without close_range: exec still closes them */
}

/* A report without an error: we are at this step (create's to see, which would take EOF for exec or death). */
static void tell_parent(const struct child_args *args, size_t step)
{
	struct child_report report = {.step = (int32_t)step, .err = 0};
	ssize_t n;

	do
		n = write(args->report_fd, &report, sizeof(report));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(report))
		_exit(125); /* the parent is gone */
}

/*
 * A pause step: a report of this step without an error tells the parent we
 * are there; its byte on the sync socket lets us go on. Without it (a hook
 * failed and we are being killed, or the parent died) there is nothing to
 * go on with. The parent runs code meanwhile, so the plan pauses only in a
 * process that does not share its memory (spawn.c).
 */
void runtime_pause(const struct child_args *args, size_t step)
{
	char go;
	ssize_t n;

	tell_parent(args, step);
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
	tell_parent(args, args->plan->nsteps + REPORT_PARKED);
	close(args->report_fd);
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

