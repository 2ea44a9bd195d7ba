/*
 * seccomp-probe NAME [ARG...]: make one system call with raw arguments
 * (numbers, or else strings passed by address) and print what it returned,
 * or the errno's name: what a filter did to it, without a libc wrapper in
 * the way. Static, to run inside the specs' busybox root filesystems.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static const struct {
	const char *name;
	long nr;
} calls[] = {
	{"keyctl", SYS_keyctl}, {"ptrace", SYS_ptrace}, {"unshare", SYS_unshare}, {"mount", SYS_mount},
	{"personality", SYS_personality}, {"mkdir", SYS_mkdir}, {"sethostname", SYS_sethostname},
	{"getpid", SYS_getpid}, {"socket", SYS_socket},
};

static long argument(const char *word)
{
	char *end;
	long n = strtol(word, &end, 0);

	return *end == '\0' && end != word ? n : (long)word;
}

int main(int argc, char **argv)
{
	long a[5] = {0};

	for (int i = 2; i < argc && i < 7; i++)
		a[i - 2] = argument(argv[i]);
	for (size_t i = 0; argc > 1 && i < sizeof(calls) / sizeof(calls[0]); i++) {
		if (strcmp(argv[1], calls[i].name) == 0) {
			long rc = syscall(calls[i].nr, a[0], a[1], a[2], a[3], a[4]);

			if (rc < 0)
				printf("%s: %s\n", argv[1], strerrorname_np(errno));
			else
				printf("%s: ok\n", argv[1]);
			return rc < 0;
		}
	}
	fprintf(stderr, "usage: seccomp-probe NAME [ARG...]\n");
	return 2;
}
