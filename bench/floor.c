/*
 * The floor: the least a C program must do to start /bin/true in the same
 * namespaces, with the same steps in the child, as an nsbox shape. What
 * nsbox costs above this is overhead it could shed.
 *
 *   floor vm|fork N NAMESPACES STEPS    e.g.  floor vm 500 user,uts,mount private,hostname
 *
 * "vm" is the fastest way: the child shares our memory (CLONE_VM) on a stack
 * of its own, so no page table is copied and no page of ours becomes
 * copy-on-write; with CLONE_VFORK too unless the child must wait for its id
 * maps. "fork" clones a copy of our memory, as nsbox does today.
 *
 * Prints the wall time per spawn in nanoseconds: the loop's total over N.
 * A name it does not know, or a step that fails, is an error on stderr and
 * exit status 1, so the driver can say why the row has no floor.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HOSTNAME "nsbox"

extern char **environ;

static const struct {
	const char *name;
	int flag;
} namespaces[] = {
	{"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"mount", CLONE_NEWNS}, {"net", CLONE_NEWNET},
	{"pid", CLONE_NEWPID}, {"user", CLONE_NEWUSER}, {"uts", CLONE_NEWUTS},
};

static int make_private(void)
{
	return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

static int set_hostname(void)
{
	return sethostname(HOSTNAME, strlen(HOSTNAME));
}

static int loopback_up(void)
{
	struct ifreq ifr = {.ifr_name = "lo", .ifr_flags = IFF_UP | IFF_RUNNING};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	/* A fresh lo has only IFF_LOOPBACK, which SIOCSIFFLAGS cannot clear: no SIOCGIFFLAGS needed. */
	if (fd < 0 || ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return -1;
	return close(fd);
}

static int mount_proc(void)
{
	return mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

static const struct {
	const char *name;
	int (*run)(void);
} steps[] = {
	{"private", make_private},
	{"hostname", set_hostname},
	{"lo", loopback_up},
	{"proc", mount_proc},
};

#define NSTEPS_MAX 16

static int (*plan[NSTEPS_MAX])(void);
static size_t nplan;

static _Noreturn void die(const char *what)
{
	perror(what);
	exit(1);
}

static int parse_namespaces(char *list)
{
	int flags = 0;

	for (char *name = strtok(list, ","); name; name = strtok(NULL, ",")) {
		size_t i = 0;

		while (i < sizeof(namespaces) / sizeof(namespaces[0]) && strcmp(name, namespaces[i].name) != 0)
			i++;
		if (i == sizeof(namespaces) / sizeof(namespaces[0])) {
			fprintf(stderr, "floor: unknown namespace '%s'\n", name);
			exit(1);
		}
		flags |= namespaces[i].flag;
	}
	return flags;
}

static void parse_steps(char *list)
{
	for (char *name = strtok(list, ","); name; name = strtok(NULL, ",")) {
		size_t i = 0;

		while (i < sizeof(steps) / sizeof(steps[0]) && strcmp(name, steps[i].name) != 0)
			i++;
		if (i == sizeof(steps) / sizeof(steps[0]) || nplan == NSTEPS_MAX) {
			fprintf(stderr, "floor: unknown step '%s', or more than %d steps\n", name, NSTEPS_MAX);
			exit(1);
		}
		plan[nplan++] = steps[i].run;
	}
}

static int write_file(pid_t pid, const char *name, const char *text)
{
	char path[64];
	int fd, ok;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -1;
}

/* As nsbox by default: map our euid/egid to 0, deny setgroups only when the kernel insists. */
static void write_id_maps(pid_t pid, const char *uid_map, const char *gid_map)
{
	if (write_file(pid, "uid_map", uid_map) < 0)
		die("uid_map");
	if (write_file(pid, "gid_map", gid_map) < 0) {
		if (errno != EPERM || write_file(pid, "setgroups", "deny") < 0 || write_file(pid, "gid_map", gid_map) < 0)
			die("gid_map");
	}
}

static _Noreturn void child(int release_fd)
{
	static char *const argv[] = {"/bin/true", NULL};
	char byte;

	if (release_fd >= 0 && read(release_fd, &byte, 1) != 1)
		_exit(2);
	for (size_t i = 0; i < nplan; i++)
		if (plan[i]() < 0)
			_exit(3 + (int)i);
	execve(argv[0], argv, environ);
	_exit(127);
}

static int child_on_own_stack(void *release_fd)
{
	child(*(int *)release_fd);
}

static void spawn_and_wait(bool vm, int flags, const char *uid_map, const char *gid_map)
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
		write_id_maps(pid, uid_map, gid_map);
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
	struct timespec start, end;
	long n;
	int flags;
	bool vm;

	if (argc != 5 || (strcmp(argv[1], "vm") != 0 && strcmp(argv[1], "fork") != 0) ||
	    (n = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: floor vm|fork N NAMESPACES STEPS\n");
		return 1;
	}
	vm = strcmp(argv[1], "vm") == 0;
	flags = parse_namespaces(argv[3]);
	parse_steps(argv[4]);
	snprintf(uid_map, sizeof(uid_map), "0 %u 1\n", (unsigned)geteuid());
	snprintf(gid_map, sizeof(gid_map), "0 %u 1\n", (unsigned)getegid());

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (long i = 0; i < n; i++)
		spawn_and_wait(vm, flags, uid_map, gid_map);
	clock_gettime(CLOCK_MONOTONIC, &end);
	printf("%.0f\n", ((double)(end.tv_sec - start.tv_sec) * 1e9 + (double)(end.tv_nsec - start.tv_nsec)) / (double)n);
	return 0;
}
