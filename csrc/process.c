/*
 * The process handle a spawn returns (nsbox.process): wait, kill, close and
 * __gc, __tostring; pid and the Lua files of its streams and terminal as
 * fields. Signals are taken by name here, for kill and core.signum.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "nsbox.h"

/* The signals kill and core.signum take by name (without SIG); a name table (plan.h). */
static const struct signal_type {
	const char *name; /* cppcheck-suppress unusedStructMember ; read by find_row */
	int number;
} signal_types[] = {
	{.name = "HUP", .number = SIGHUP},
	{.name = "INT", .number = SIGINT},
	{.name = "QUIT", .number = SIGQUIT},
	{.name = "ILL", .number = SIGILL},
	{.name = "TRAP", .number = SIGTRAP},
	{.name = "ABRT", .number = SIGABRT},
	{.name = "BUS", .number = SIGBUS},
	{.name = "FPE", .number = SIGFPE},
	{.name = "KILL", .number = SIGKILL},
	{.name = "USR1", .number = SIGUSR1},
	{.name = "SEGV", .number = SIGSEGV},
	{.name = "USR2", .number = SIGUSR2},
	{.name = "PIPE", .number = SIGPIPE},
	{.name = "ALRM", .number = SIGALRM},
	{.name = "TERM", .number = SIGTERM},
	{.name = "STKFLT", .number = SIGSTKFLT},
	{.name = "CHLD", .number = SIGCHLD},
	{.name = "CONT", .number = SIGCONT},
	{.name = "STOP", .number = SIGSTOP},
	{.name = "TSTP", .number = SIGTSTP},
	{.name = "TTIN", .number = SIGTTIN},
	{.name = "TTOU", .number = SIGTTOU},
	{.name = "URG", .number = SIGURG},
	{.name = "XCPU", .number = SIGXCPU},
	{.name = "XFSZ", .number = SIGXFSZ},
	{.name = "VTALRM", .number = SIGVTALRM},
	{.name = "PROF", .number = SIGPROF},
	{.name = "WINCH", .number = SIGWINCH},
	{.name = "IO", .number = SIGIO},
	{.name = "PWR", .number = SIGPWR},
	{.name = "SYS", .number = SIGSYS},
	{.name = NULL},
};

/* A signal given as a number, or a name with or without SIG, in any case. */
static int check_signal(lua_State *L, int idx, const char *def)
{
	const char *name;
	char upper[16];
	size_t i;
	int row;

	if (lua_type(L, idx) == LUA_TNUMBER) {
		lua_Integer sig = luaL_checkinteger(L, idx);

		luaL_argcheck(L, sig > 0 && sig < NSIG, idx, "signal number out of range");
		return (int)sig;
	}
	name = luaL_optstring(L, idx, def);
	for (i = 0; i < sizeof(upper) - 1 && name[i]; i++)
		upper[i] = (char)((name[i] >= 'a' && name[i] <= 'z') ? name[i] - 32 : name[i]);
	upper[i] = '\0';
	name = strncmp(upper, "SIG", 3) == 0 ? upper + 3 : upper;
	row = find_row(signal_types, sizeof(signal_types[0]), name, strlen(name));
	if (row >= 0)
		return signal_types[row].number;
	return luaL_argerror(L, idx, lua_pushfstring(L, "unknown signal '%s'", lua_tostring(L, idx)));
}

/* Take the terminal's foreground back; we are a background group until then. */
static void restore_terminal(void)
{
	sigset_t ttou, old;

	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	tcsetpgrp(STDIN_FILENO, getpgrp());
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* A supervisor leaves with the command's code, or 128+N for its signal N. */
static bool agrees(int supervisor, int command)
{
	int code = WIFSIGNALED(command) ? 128 + WTERMSIG(command) : WEXITSTATUS(command);

	return WIFEXITED(supervisor) && WEXITSTATUS(supervisor) == (code & 0xff);
}

/* The end, for machines (bubblewrap's --json-status-fd): the exit code, 128+N for signal N. */
static void tell_exit_code(struct process *proc)
{
	char line[48];
	int code = WIFSIGNALED(proc->status) ? 128 + WTERMSIG(proc->status) : WEXITSTATUS(proc->status);
	int len = snprintf(line, sizeof(line), "{ \"exit-code\": %d }\n", code);
	ssize_t written;

	if (proc->json_status_fd < 0)
		return;
	written = write(proc->json_status_fd, line, (size_t)len);
	(void)written; /* a reader that is gone has nothing to learn */
	proc->json_status_fd = -1;
}

/*
 * Once reaped: with a supervisor, the status that counts is the command's,
 * if it told it and its own exit agrees (a told status that does not is not
 * the supervisor's, and is ignored).
 */
static void reaped(struct process *proc)
{
	int status;

	proc->reaped = true;
	close_fd(&proc->tty_fd);
	if (proc->took_terminal)
		restore_terminal();
	if (proc->status_fd >= 0 && read(proc->status_fd, &status, sizeof(status)) == (ssize_t)sizeof(status) &&
	    agrees(proc->status, status))
		proc->status = status;
	close_fd(&proc->status_fd);
	tell_exit_code(proc);
}

/* Wait for the process (after a SIGKILL of ours, or a failed spawn) and take its status. */
void process_reap(struct process *proc)
{
	while (waitpid(proc->pid, &proc->status, __WALL) < 0 && errno == EINTR)
		;
	reaped(proc);
}

/*
 * The handle's after_exit (spawn's option), run once. Its failure is only
 * told on stderr: the sandbox's own end is what wait reports.
 */
void process_after_exit(lua_State *L, int handle)
{
	handle = lua_absindex(L, handle);
	if (lua_getiuservalue(L, handle, 2) != LUA_TFUNCTION) {
		lua_pop(L, 1);
		return;
	}
	lua_pushnil(L);
	lua_setiuservalue(L, handle, 2);
	if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
		fprintf(stderr, "nsbox: %s\n", luaL_tolstring(L, -1, NULL));
		lua_pop(L, 2);
	}
}

/* A new handle, of no process yet, on the stack: spawn fills it once the child runs. */
struct process *process_new(lua_State *L)
{
	struct process *proc = lua_newuserdatauv(L, sizeof(*proc), 2); /* the files table; after_exit */

	*proc = (struct process){.pid = -1, .status_fd = -1, .tty_fd = -1, .json_status_fd = -1, .reaped = true};
	luaL_setmetatable(L, NSBOX_PROCESS_MT);
	return proc;
}

/* os.execute's shape: true|nil, "exit"|"signal", code */
static int push_status(lua_State *L, int status)
{
	if (WIFSIGNALED(status)) {
		luaL_pushfail(L);
		lua_pushliteral(L, "signal");
		lua_pushinteger(L, WTERMSIG(status));
	} else {
		int code = WEXITSTATUS(status);

		if (code == 0)
			lua_pushboolean(L, 1);
		else
			luaL_pushfail(L);
		lua_pushliteral(L, "exit");
		lua_pushinteger(L, code);
	}
	return 3;
}

static struct process *check_process(lua_State *L)
{
	return luaL_checkudata(L, 1, NSBOX_PROCESS_MT);
}

static void forward_signals_until_exit(struct process *proc)
{
	sigset_t set, old;
	siginfo_t info;
	struct timespec now = {0, 0};

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	for (;;) {
		pid_t r = waitpid(proc->pid, &proc->status, WNOHANG | __WALL);

		if (r == proc->pid || (r < 0 && errno != EINTR))
			break;
		if (sigwaitinfo(&set, &info) > 0 && info.si_signo != SIGCHLD)
			kill(proc->pid, info.si_signo);
	}
	/* Signals that raced the end were meant for the sandbox, which is gone. */
	sigdelset(&set, SIGCHLD);
	while (sigtimedwait(&set, &info, &now) > 0)
		;
	sigprocmask(SIG_SETMASK, &old, NULL);
	reaped(proc);
}

/*
 * process:wait() -> true|nil, "exit"|"signal", code [, reason]: with a
 * cgroup, reason "oom" when the memory limit's OOM killer ended the
 * command, and the cgroups are gone afterwards. While waiting, SIGINT,
 * SIGTERM and SIGHUP sent to this process are passed on to the sandbox.
 */
static int process_wait(lua_State *L)
{
	struct process *proc = check_process(L);

	if (proc->pid < 0) {
		errno = ECHILD;
		return nsbox_fail(L, "wait");
	}
	if (!proc->reaped && proc->tty_fd >= 0) {
		terminal_relay(proc->pid, proc->tty_fd, &proc->status);
		reaped(proc);
	} else if (!proc->reaped) {
		forward_signals_until_exit(proc);
	}
	process_after_exit(L, 1);
	push_status(L, proc->status);
	lua_getiuservalue(L, 1, 1);
	cgroup_finish(L, lua_gettop(L), proc->status, false); /* its reason for the end, or nil */
	lua_remove(L, -2);
	if (!lua_isnil(L, -1))
		return 4;
	lua_pop(L, 1);
	return 3;
}

/* process:kill([signal]) -> true | nil, message, errno; default TERM. */
static int process_kill(lua_State *L)
{
	struct process *proc = check_process(L);
	int sig = check_signal(L, 2, "TERM");

	if (proc->reaped) {
		errno = ESRCH;
		return nsbox_fail(L, "kill");
	}
	return nsbox_result(L, kill(proc->pid, sig), "kill");
}

/* __close and __gc: a sandbox nobody waits for is killed and reaped, never leaked. */
static int process_close(lua_State *L)
{
	struct process *proc = check_process(L);

	if (!proc->reaped) {
		kill(proc->pid, SIGKILL);
		process_reap(proc);
	}
	process_after_exit(L, 1);
	lua_getiuservalue(L, 1, 1);
	cgroup_finish(L, lua_gettop(L), proc->status, true);
	return 0;
}

/*
 * process:detach() -> pid: the process is left to whoever adopts it when we
 * exit (a container under its engine's monitor): never waited for, killed
 * or reaped through this handle again; its cgroups (process.cgroup, taken
 * before) are no longer removed by the handle either.
 */
static int process_detach(lua_State *L)
{
	struct process *proc = check_process(L);

	proc->reaped = true;
	close_fd(&proc->status_fd);
	close_fd(&proc->tty_fd);
	lua_getiuservalue(L, 1, 1);
	lua_pushnil(L);
	lua_setfield(L, -2, "cgroup");
	lua_pop(L, 1);
	lua_pushinteger(L, proc->pid);
	return 1;
}

static int process_index(lua_State *L)
{
	struct process *proc = check_process(L);

	const char *key = luaL_checkstring(L, 2);

	if (strcmp(key, "pid") == 0) {
		lua_pushinteger(L, proc->pid);
		return 1;
	}
	lua_getiuservalue(L, 1, 1); /* stdin, stdout, stderr, tty, namespace_ids */
	if (lua_getfield(L, -1, key) != LUA_TNIL)
		return 1;
	lua_getmetatable(L, 1);
	lua_getfield(L, -1, "methods");
	lua_getfield(L, -1, lua_tostring(L, 2));
	return 1;
}

static int process_tostring(lua_State *L)
{
	struct process *proc = check_process(L);

	if (!proc->reaped)
		lua_pushfstring(L, "nsbox.process{pid=%d, running}", (int)proc->pid);
	else if (WIFSIGNALED(proc->status))
		lua_pushfstring(L, "nsbox.process{pid=%d, signal %d}", (int)proc->pid, WTERMSIG(proc->status));
	else
		lua_pushfstring(L, "nsbox.process{pid=%d, exit %d}", (int)proc->pid, WEXITSTATUS(proc->status));
	return 1;
}

/* core.signum(name) -> number: the CLI turns "killed by SIGTERM" into 128+15. */
static int l_signum(lua_State *L)
{
	lua_pushinteger(L, check_signal(L, 1, NULL));
	return 1;
}

void process_open(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"wait", process_wait},
		{"kill", process_kill},
		{"close", process_close},
		{"detach", process_detach},
		{"stats", cgroup_process_stats},
		{NULL, NULL},
	};
	static const luaL_Reg metamethods[] = {
		{"__index", process_index},
		{"__tostring", process_tostring},
		{"__close", process_close},
		{"__gc", process_close},
		{NULL, NULL},
	};
	static const luaL_Reg fns[] = {
		{"signum", l_signum},
		{NULL, NULL},
	};

	luaL_newmetatable(L, NSBOX_PROCESS_MT);
	luaL_setfuncs(L, metamethods, 0);
	luaL_newlib(L, methods);
	lua_setfield(L, -2, "methods");
	lua_pop(L, 1);
	luaL_setfuncs(L, fns, 0);
}
