/*
 * The floor: the least a C program must do to start /bin/true in the same
 * namespaces, with the same steps in the child, as an nsbox shape. What
 * nsbox costs above this is overhead it could shed.
 *
 *   floor vm|fork N NAMESPACES [STEP...]    e.g.  floor vm 500 user,uts,mount private hostname
 *
 * A STEP is its name, then as many more words as it has fields:
 *
 *   private | hostname | lo | proc                    (no fields)
 *   mount SOURCE TARGET FSTYPE OPTIONS CREATE BASE_LEN
 *   bind SOURCE TARGET rec|single CREATE BASE_LEN
 *   symlink SOURCE TARGET BASE_LEN
 *   pivot_root TARGET | chdir TARGET
 *   init PROGRAM                                     (last: /bin/true under nsbox-init, at its gate)
 *
 * with OPTIONS a comma list of mount(8) words ("" for none), CREATE none,
 * dir or file, and BASE_LEN the length of TARGET's trusted base: what nsbox's
 * plan steps say.
 *
 * The child's work is nsbox's own, not a copy: each step becomes the struct
 * step nsbox's plan holds and runs through the child's child_run_step, the id
 * maps are written by idmap.c, and namespace and mount option names come from
 * nsbox's tables, all from the Lua-free files plan.h declares. So the floor
 * and nsbox do the same syscalls in the child, and the difference is the
 * machinery around them: Lua, the plan's copy, pipes, reports, the child's
 * signal and descriptor set-up. The clone, the wait and init are the floor's
 * own, the least they can be.
 *
 * "vm" is the fastest way: the child shares our memory (CLONE_VM) on a stack
 * of its own, so no page table is copied and no page of ours becomes
 * copy-on-write; with CLONE_VFORK too unless the child must wait for its id
 * maps. nsbox clones this way. "fork" clones a copy of our memory, which is
 * what a fork-style spawn would cost.
 *
 * Prints the wall time per spawn in nanoseconds: the loop's total over N.
 * A name it does not know, or a step that fails, is an error on stderr and
 * exit status 1, so the driver can say why the row has no floor.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plan.h"

#define HOSTNAME "nsbox"

extern char **environ;

/* The steps by name: the plan step each is, and the fields its words fill, in order: s source, t target, f fstype, o options, r rec|single, c create, b base_len. */
static const struct floor_step {
	const char *name;
	struct step step;
	const char *fields;
} steps[] = {
	{.name = "private", .step = {.op = STEP_MOUNT, .target = "/", .flags = MS_REC | MS_PRIVATE}, .fields = ""},
	{.name = "hostname", .step = {.op = STEP_HOSTNAME, .source = HOSTNAME}, .fields = ""},
	{.name = "lo", .step = {.op = STEP_LOOPBACK}, .fields = ""},
	{.name = "proc", .step = {.op = STEP_MOUNT, .source = "proc", .target = "/proc", .fstype = "proc",
				  .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC}, .fields = ""},
	{.name = "mount", .step = {.op = STEP_MOUNT}, .fields = "stfocb"},
	{.name = "bind", .step = {.op = STEP_BIND}, .fields = "strcb"},
	{.name = "symlink", .step = {.op = STEP_SYMLINK}, .fields = "stb"},
	{.name = "pivot_root", .step = {.op = STEP_PIVOT_ROOT}, .fields = "t"},
	{.name = "chdir", .step = {.op = STEP_CHDIR}, .fields = "t"},
	{.name = NULL},
};

#define NSTEPS_MAX 32

static struct step plan[NSTEPS_MAX];
static size_t nplan;
static const char *init_program; /* the init step's PROGRAM, or NULL without one */

/* /bin/true once nsbox-init says it is out of reach (nsbox's gate, child.c's wait_for_init). */
static int exec_true(void *gate_arg)
{
	static char *const argv[] = {"/bin/true", NULL};
	const int *gate = gate_arg;
	char go;

	close(gate[1]);
	if (read(gate[0], &go, 1) == 1)
		execve(argv[0], argv, environ);
	_exit(127);
}

/* nsbox's init: /bin/true on a second stack, waiting at the gate, then nsbox-init watching it. */
static void under_init(void)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	static int gate[2];
	char status_text[12], pid_text[12], gate_text[12];
	int status_fd = open("/dev/null", O_WRONLY);
	pid_t child = pipe(gate) < 0 ? -1 : clone(exec_true, stack + sizeof(stack), CLONE_VM | SIGCHLD, gate);
	char *const argv[] = {"nsbox-init", decimal(status_text, (unsigned int)status_fd),
			      decimal(pid_text, (unsigned int)child), decimal(gate_text, (unsigned int)gate[1]), NULL};
	char *const envp[] = {NULL};

	if (status_fd >= 0 && child >= 0)
		execve(init_program, argv, envp);
}

static _Noreturn void die(const char *what)
{
	perror(what);
	exit(1);
}

static int parse_namespaces(char *list)
{
	int flags = 0;

	for (char *name = strtok(list, ","); name; name = strtok(NULL, ",")) {
		int i = find_row(ns_types, sizeof(ns_types[0]), name, strlen(name));

		if (i < 0) {
			fprintf(stderr, "floor: unknown namespace '%s'\n", name);
			exit(1);
		}
		flags |= ns_types[i].flag;
	}
	return flags;
}

static _Noreturn void usage(const char *why, const char *word)
{
	fprintf(stderr, "floor: %s '%s'\n", why, word);
	exit(1);
}

/* OPTIONS into flags and the comma list of the rest, as nsbox's plan reads them. */
static void parse_options(char *list, struct step *step)
{
	char *data = calloc(1, strlen(list) + 1);

	if (!data)
		die("calloc");
	for (char *word = strtok(list, ","); word; word = strtok(NULL, ",")) {
		if (mount_option(word, strlen(word), &step->flags))
			continue;
		if (data[0])
			strcat(data, ",");
		strcat(data, word);
	}
	step->data = data[0] ? data : NULL;
}

static void parse_field(char field, char *word, struct step *step)
{
	char *end;
	unsigned long base_len;

	switch (field) {
	case 's':
		step->source = word;
		break;
	case 't':
		step->target = word;
		break;
	case 'f':
		step->fstype = word;
		break;
	case 'o':
		parse_options(word, step);
		break;
	case 'r':
		if (strcmp(word, "rec") != 0 && strcmp(word, "single") != 0)
			usage("expected rec or single, got", word);
		step->recursive = strcmp(word, "rec") == 0;
		break;
	case 'c':
		if (strcmp(word, "none") == 0)
			step->create = CREATE_NONE;
		else if (strcmp(word, "dir") == 0)
			step->create = CREATE_DIR;
		else if (strcmp(word, "file") == 0)
			step->create = CREATE_FILE;
		else
			usage("expected none, dir or file, got", word);
		break;
	case 'b':
		/* Fields come in order: the target is known by now. */
		base_len = strtoul(word, &end, 10);
		if (*word == '\0' || *end != '\0' || base_len > strlen(step->target))
			usage("bad base length", word);
		step->base_len = base_len;
		break;
	}
}

/* The steps from words[0] on, each its name and its fields' words. */
static void parse_steps(char **words)
{
	while (*words) {
		const char *name = *words++;
		int i = find_row(steps, sizeof(steps[0]), name, strlen(name));

		if (strcmp(name, "init") == 0 && *words) {
			init_program = *words++;
			continue;
		}
		if (i < 0)
			usage("unknown step", name);
		if (nplan == NSTEPS_MAX)
			usage("too many steps at", name);
		plan[nplan] = steps[i].step;
		for (const char *field = steps[i].fields; *field; field++) {
			if (!*words)
				usage("missing fields of step", name);
			parse_field(*field, *words++, &plan[nplan]);
		}
		nplan++;
	}
}

static _Noreturn void child(int release_fd)
{
	static char *const argv[] = {"/bin/true", NULL};
	struct owned_mounts owned = {.n = 0};
	char byte;

	if (release_fd >= 0 && read(release_fd, &byte, 1) != 1)
		_exit(2);
	for (size_t i = 0; i < nplan; i++)
		if (child_run_step(&plan[i], -1, &owned) < 0)
			_exit(3 + (int)i);
	if (init_program) {
		under_init();
		_exit(3 + (int)nplan);
	}
	execve(argv[0], argv, environ);
	_exit(127);
}

static int child_on_own_stack(void *release_fd)
{
	child(*(int *)release_fd);
}

static void spawn_and_wait(bool vm, int flags, const struct plan *maps)
{
	int release[2] = {-1, -1}, status;
	pid_t pid;

	if ((flags & CLONE_NEWUSER) && pipe2(release, O_CLOEXEC) < 0)
		die("pipe");
	if (vm) {
		static char stack[64 * 1024] __attribute__((aligned(16)));

		pid = clone(child_on_own_stack, stack + sizeof(stack),
			    CLONE_VM | ((flags & CLONE_NEWUSER) ? 0 : CLONE_VFORK) | flags | SIGCHLD, &release[0]);
	} else if ((pid = (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL, NULL, 0UL)) == 0)
		child(release[0]);
	if (pid < 0)
		die("clone");
	if (flags & CLONE_NEWUSER) {
		close(release[0]);
		const char *what;

		if (write_id_maps(pid, maps, &what) < 0)
			die(what);
		if (write(release[1], "", 1) != 1)
			die("release");
		close(release[1]);
	}
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "floor: child failed with status 0x%x (exit 3+i: step i failed)\n", status);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	char uid_map[32], gid_map[32];
	struct plan maps = {.uid_map = uid_map, .gid_map = gid_map, .setgroups = SETGROUPS_AUTO};
	struct timespec start, end;
	long n;
	int flags;
	bool vm;

	if (argc < 4 || (strcmp(argv[1], "vm") != 0 && strcmp(argv[1], "fork") != 0) ||
	    (n = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: floor vm|fork N NAMESPACES [STEP...]\n");
		return 1;
	}
	vm = strcmp(argv[1], "vm") == 0;
	flags = parse_namespaces(argv[3]);
	parse_steps(argv + 4);
	snprintf(uid_map, sizeof(uid_map), "0 %u 1\n", (unsigned)geteuid());
	snprintf(gid_map, sizeof(gid_map), "0 %u 1\n", (unsigned)getegid());

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (long i = 0; i < n; i++)
		spawn_and_wait(vm, flags, &maps);
	clock_gettime(CLOCK_MONOTONIC, &end);
	printf("%.0f\n", ((double)(end.tv_sec - start.tv_sec) * 1e9 + (double)(end.tv_nsec - start.tv_nsec)) / (double)n);
	return 0;
}
