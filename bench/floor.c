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
 *   init PROGRAM                                     (last: /bin/true under nsbox-init)
 *
 * with OPTIONS a comma list of mount(8) words ("" for none), CREATE none,
 * dir or file, and BASE_LEN the length of TARGET's trusted base: what nsbox's
 * plan steps say, done with the same syscalls in the same order.
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
#include <limits.h>
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
#include <sys/stat.h>
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

#define UNUSED __attribute__((unused))

/* A step of the plan with the fields its name takes; the others stay zero. */
struct step {
	int (*run)(const struct step *);
	const char *source, *target, *fstype;
	unsigned long flags;
	char *data; /* the options that are not flags, NULL when none (as nsbox passes them) */
	bool recursive;
	enum { CREATE_NONE, CREATE_DIR, CREATE_FILE } create;
	const char *base; /* target[0..base_len), or "/" when empty */
	const char *rest; /* the rest of target, walked without following symlinks */
};

static int make_private(const struct step *step UNUSED)
{
	return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

static int set_hostname(const struct step *step UNUSED)
{
	return sethostname(HOSTNAME, strlen(HOSTNAME));
}

static int loopback_up(const struct step *step UNUSED)
{
	struct ifreq ifr = {.ifr_name = "lo", .ifr_flags = IFF_UP | IFF_RUNNING};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	/* A fresh lo has only IFF_LOOPBACK, which SIOCSIFFLAGS cannot clear: no SIOCGIFFLAGS needed. */
	if (fd < 0 || ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return -1;
	return close(fd);
}

static int mount_proc(const struct step *step UNUSED)
{
	return mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/*
 * The directory holding the target's last component, which goes to leaf
 * ("" when the target is its base): from the base down, each directory
 * looked at, made 0755 when missing and opened without following a
 * symlink, as nsbox's child walks a rootfs. A failing child just exits, so
 * what it opened is not closed on the way out.
 */
static int open_parent(const struct step *step, char leaf[NAME_MAX + 1])
{
	const char *rest = step->rest;
	int dirfd = open(step->base, O_PATH | O_DIRECTORY | O_CLOEXEC);

	leaf[0] = '\0';
	while (dirfd >= 0) {
		const char *end;
		struct stat st;
		int next;

		while (*rest == '/')
			rest++;
		end = strchrnul(rest, '/');
		if (end - rest > NAME_MAX)
			return -1;
		memcpy(leaf, rest, (size_t)(end - rest));
		leaf[end - rest] = '\0';
		rest = end;
		while (*end == '/')
			end++;
		if (*end == '\0')
			break;
		if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
		    (errno != ENOENT || mkdirat(dirfd, leaf, 0755) < 0 || fchmodat(dirfd, leaf, 0755, 0) < 0))
			return -1;
		next = openat(dirfd, leaf, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(dirfd);
		dirfd = next;
	}
	return dirfd;
}

/* A missing mount point is made: a directory or an empty file. */
static int prepare_target(const struct step *step)
{
	char leaf[NAME_MAX + 1];
	struct stat st;
	int dirfd, rc = 0;

	if (step->create == CREATE_NONE)
		return 0;
	if ((dirfd = open_parent(step, leaf)) < 0)
		return -1;
	if (leaf[0] != '\0' && fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (step->create == CREATE_DIR) {
			rc = mkdirat(dirfd, leaf, 0755);
		} else {
			int fd = openat(dirfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

			rc = fd < 0 ? -1 : close(fd);
		}
	}
	close(dirfd);
	return rc;
}

static int mount_fs(const struct step *step)
{
	if (prepare_target(step) < 0)
		return -1;
	return mount(step->source, step->target, step->fstype, step->flags, step->data);
}

/* bench.lua passes only binds nsbox adds nothing to afterwards: no read-only or nodev remount follows. */
static int bind_mount(const struct step *step)
{
	if (prepare_target(step) < 0)
		return -1;
	return mount(step->source, step->target, NULL, MS_BIND | (step->recursive ? MS_REC : 0), NULL);
}

static int make_symlink(const struct step *step)
{
	char leaf[NAME_MAX + 1];
	int dirfd = open_parent(step, leaf);
	int rc;

	if (dirfd < 0)
		return -1;
	rc = symlinkat(step->source, dirfd, leaf);
	close(dirfd);
	return rc;
}

/* The old root stacked under the new one, then lazily unmounted: nsbox's way, needing no directory for it. */
static int pivot_into(const struct step *step)
{
	if (chdir(step->target) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0)
		return -1;
	return chdir("/");
}

static int change_dir(const struct step *step)
{
	return chdir(step->target);
}

/*
 * The steps by name, with the fields their words fill, in order: s source,
 * t target, f fstype, o options, r rec|single, c create, b base_len.
 */
static int exec_true(void *unused UNUSED)
{
	static char *const argv[] = {"/bin/true", NULL};

	execve(argv[0], argv, environ);
	_exit(127);
}

/* nsbox's init: /bin/true vforked on a second stack, then nsbox-init (PROGRAM) watching it. */
static int under_init(const struct step *step)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	char status_text[16], pid_text[16];
	int status_fd = open("/dev/null", O_WRONLY);
	pid_t child = clone(exec_true, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
	char *const argv[] = {"nsbox-init", status_text, pid_text, NULL};
	char *const envp[] = {NULL};

	if (status_fd < 0 || child < 0)
		return -1;
	snprintf(status_text, sizeof(status_text), "%d", status_fd);
	snprintf(pid_text, sizeof(pid_text), "%d", (int)child);
	execve(step->source, argv, envp);
	return -1;
}

static const struct {
	const char *name;
	int (*run)(const struct step *);
	const char *fields;
} steps[] = {
	{"private", make_private, ""},
	{"hostname", set_hostname, ""},
	{"lo", loopback_up, ""},
	{"proc", mount_proc, ""},
	{"mount", mount_fs, "stfocb"},
	{"bind", bind_mount, "strcb"},
	{"symlink", make_symlink, "stb"},
	{"pivot_root", pivot_into, "t"},
	{"chdir", change_dir, "t"},
	{"init", under_init, "s"},
};

/*
 * The flag words the benched plans use. Any other word goes to the data, as
 * nsbox does with words it does not know, where the kernel would take a
 * real flag for an unknown option: add it here before a plan uses it.
 */
static const struct {
	const char *name;
	unsigned long flags;
} mount_flags[] = {
	{"nosuid", MS_NOSUID}, {"nodev", MS_NODEV}, {"noexec", MS_NOEXEC},
	{"rec", MS_REC}, {"private", MS_PRIVATE},
};

#define NSTEPS_MAX 32

static struct step plan[NSTEPS_MAX];
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

static _Noreturn void usage(const char *why, const char *word)
{
	fprintf(stderr, "floor: %s '%s'\n", why, word);
	exit(1);
}

/* OPTIONS into flags and the comma list of the rest. */
static void parse_options(char *list, struct step *step)
{
	char *data = calloc(1, strlen(list) + 1);

	if (!data)
		die("calloc");
	for (char *word = strtok(list, ","); word; word = strtok(NULL, ",")) {
		size_t i = 0;

		while (i < sizeof(mount_flags) / sizeof(mount_flags[0]) && strcmp(word, mount_flags[i].name) != 0)
			i++;
		if (i < sizeof(mount_flags) / sizeof(mount_flags[0])) {
			step->flags |= mount_flags[i].flags;
		} else {
			if (data[0])
				strcat(data, ",");
			strcat(data, word);
		}
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
		step->base = base_len ? strndup(step->target, base_len) : "/";
		if (!step->base)
			die("strndup");
		step->rest = step->target + base_len;
		break;
	}
}

/* The steps from words[0] on, each its name and its fields' words. */
static void parse_steps(char **words)
{
	while (*words) {
		const char *name = *words++;
		size_t i = 0;

		while (i < sizeof(steps) / sizeof(steps[0]) && strcmp(name, steps[i].name) != 0)
			i++;
		if (i == sizeof(steps) / sizeof(steps[0]))
			usage("unknown step", name);
		if (nplan == NSTEPS_MAX)
			usage("too many steps at", name);
		plan[nplan].run = steps[i].run;
		for (const char *field = steps[i].fields; *field; field++) {
			if (!*words)
				usage("missing fields of step", name);
			parse_field(*field, *words++, &plan[nplan]);
		}
		nplan++;
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
		if (plan[i].run(&plan[i]) < 0)
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
		spawn_and_wait(vm, flags, uid_map, gid_map);
	clock_gettime(CLOCK_MONOTONIC, &end);
	printf("%.0f\n", ((double)(end.tv_sec - start.tv_sec) * 1e9 + (double)(end.tv_nsec - start.tv_nsec)) / (double)n);
	return 0;
}
