/*
 * nsbox: declarations shared by the Lua bindings of the nsbox.core module.
 * The plan and everything that runs without Lua: plan.h.
 */
#ifndef NSBOX_H
#define NSBOX_H

#include <lua.h>

#include "plan.h"

#define NSBOX_PLAN_MT "nsbox.plan"
#define NSBOX_PROCESS_MT "nsbox.process"

/* binding.c: what every binding shares */
int nsbox_fail(lua_State *L, const char *what);
int nsbox_result(lua_State *L, int rc, const char *what);
int nsbox_check_row(lua_State *L, int idx, const void *rows, size_t stride);
void nsbox_push_rows(lua_State *L, const void *rows, size_t stride, void (*fields)(lua_State *L, const void *row));

/* plan.c: reading a plan's parts from Lua, also for the direct wrappers */
void plan_read_mount_options(lua_State *L, int idx, unsigned long *flags, const char **data);
int plan_read_namespaces(lua_State *L, int idx);
void plan_bind_files(struct plan *plan);

/* streams.c: what the parent opened for the child, closed once it has its copies */
struct passing {
	int opened[NSBOX_MAX_FDS];
	int nopened;
};
int streams_read(lua_State *L, int idx, int files, struct child_args *args, struct passing *pass);
void streams_close(struct passing *pass);
int streams_keep(lua_State *L, int files, const char *name, int fd, const char *mode);

/* seccomp.c: the step's program, a userdata left on the stack */
void seccomp_read_step(lua_State *L, int idx, struct step *step);

/* process.c: the handle spawn.c returns */
struct process {
	pid_t pid;
	int status;    /* waitpid status, once reaped */
	int status_fd; /* with init: where it tells the command's own status, or -1 */
	int tty_fd;    /* tty relayed by wait: the master of the command's pseudo-terminal, or -1 */
	int json_status_fd; /* the caller's, or -1: where wait writes { "exit-code": N } */
	bool reaped;
	bool took_terminal; /* the sandbox was given the terminal's foreground */
};
struct process *process_new(lua_State *L);
void process_reap(struct process *proc);
void process_after_exit(lua_State *L, int handle);

/* cgroup.c: placing the child in the sandbox's cgroups, and finishing them with the handle */
pid_t cgroup_clone(int flags, bool vfork, int dir_fd, const struct child_args *args);
int cgroup_prepare(lua_State *L, int idx, struct child_args *args);
int cgroup_enter(lua_State *L, int idx, pid_t pid, const char **failed);
void cgroup_finish(lua_State *L, int files, int status, bool protected);
int cgroup_process_stats(lua_State *L);

/* relay.c: tty = true */
void terminal_relay(pid_t pid, int master, int *status);

void syscalls_open(lua_State *L);
void plan_open(lua_State *L);
void spawn_open(lua_State *L);
void process_open(lua_State *L);
void nsinfo_open(lua_State *L);
void streams_open(lua_State *L);
void seccomp_open(lua_State *L);
void cgroup_open(lua_State *L);
void netlink_open(lua_State *L);
void runtime_open(lua_State *L);
void files_open(lua_State *L);

#endif
