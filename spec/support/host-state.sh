#!/bin/sh
# What the suite must leave as it found it: the names and mounts of the host,
# and no process of its own. Other people's processes come and go on a shared
# machine, so processes are looked for only under the suite's subreaper
# (build/subreaper sets NSBOX_SUBREAPER), where every orphan of the suite ends
# up: any descendant of it but this script and its callers is a leftover, a
# stray sandbox or a zombie nobody reaped.
echo "hostname: $(hostname)"
echo "domainname: $(cat /proc/sys/kernel/domainname)"
awk '{ print "mount:", $5, $(NF-2) }' /proc/self/mountinfo | sort
# The sandboxes' cgroups (nsbox-PID-N, and the specs' named ones), in every hierarchy.
find /sys/fs/cgroup -type d -name 'nsbox-*' 2>/dev/null | sed 's/^/cgroup: /' | sort
# The specs' scratch files and directories (rootfs, outputs, volumes, bundles) and nsbox's own private ones.
find /tmp -maxdepth 1 -name 'nsbox-*' 2>/dev/null | sed 's/^/temp: /' | sort
[ -n "${NSBOX_SUBREAPER:-}" ] || exit 0
ps -e -o pid=,ppid=,stat=,args= | awk -v reaper="$NSBOX_SUBREAPER" -v self=$$ '
	{ sub(/^ +/, ""); parent[$1] = $2; line[$1] = $0 }
	END {
		for (p = self; p != reaper; p = parent[p]) {
			if (!(p in parent)) { print "not run under the subreaper", reaper; exit }
			checking[p] = 1
		}
		for (pid in line) {
			for (p = parent[pid]; p in parent && p != reaper && p != self; p = parent[p])
				;
			if (p == reaper && !(pid in checking))
				print "left by the suite:", line[pid]
		}
	}' | sort
