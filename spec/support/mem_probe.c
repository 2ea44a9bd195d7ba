/*
 * mem-probe: what a process inside a sandbox would do to catch a newcomer
 * that still shares its spawner's memory: open /proc/PID/mem of every
 * process as it appears, and print "opened COMM" when one opens (a joined
 * command after its exec is fair game; the spawner's name is not). Runs
 * until killed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	char path[64];

	setvbuf(stdout, NULL, _IONBF, 0);
	for (;;) {
		DIR *proc = opendir("/proc");
		struct dirent *e;

		if (!proc)
			return 1;
		while ((e = readdir(proc))) {
			int pid = atoi(e->d_name);
			int fd;

			if (pid <= 1 || pid == getpid())
				continue;
			snprintf(path, sizeof(path), "/proc/%d/mem", pid);
			fd = open(path, O_RDONLY);
			if (fd >= 0) {
				char comm[32] = "";
				FILE *f;

				snprintf(path, sizeof(path), "/proc/%d/comm", pid);
				f = fopen(path, "r");
				if (f && fgets(comm, sizeof(comm), f))
					printf("opened %s", comm);
				if (f)
					fclose(f);
				close(fd);
			}
		}
		closedir(proc);
	}
}
