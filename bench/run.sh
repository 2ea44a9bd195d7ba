#!/bin/sh
# make bench: build the bench's C parts into build/bench, make sure bwrap is
# there to compare with, lay out a tiny OCI bundle and a busybox rootfs, then
# run bench/bench.lua: progress on stderr, the report on stdout. Settings: see
# bench/bench.lua.
set -eu
cd "$(dirname "$0")/.."

compile() { cc -O2 -Wall -Wextra -Werror "$@"; }
mkdir -p build/bench
compile -o build/bench/floor bench/floor.c
compile -o build/bench/timer bench/timer.c
compile -shared -fPIC -I"${LUA_INC:-/usr/include/lua5.4}" -o build/bench/clock.so bench/clock.c

if ! command -v bwrap >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ]; then
		echo "bench: installing bubblewrap" >&2
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null ||
			echo "bench: could not install bubblewrap; it is reported as missing" >&2
	else
		echo "bench: bwrap is missing and only root installs it; it is reported as missing" >&2
	fi
fi

# The OCI bundle: busybox-static (setup.sh installs it) as /bin/true, and the
# least config crun runs: the namespaces of a default `crun spec`, a fresh
# /proc, a read-only root, no terminal.
bundle=build/bench/bundle
rm -rf "$bundle"
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/dev"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/true"
cat > "$bundle/config.json" <<'EOF'
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": { "uid": 0, "gid": 0 },
    "args": [ "/bin/true" ],
    "env": [ "PATH=/bin" ],
    "cwd": "/"
  },
  "root": { "path": "rootfs", "readonly": true },
  "hostname": "nsbox",
  "mounts": [
    { "destination": "/proc", "type": "proc", "source": "proc", "options": [ "nosuid", "noexec", "nodev" ] }
  ],
  "linux": {
    "namespaces": [ { "type": "pid" }, { "type": "network" }, { "type": "ipc" }, { "type": "uts" }, { "type": "mount" } ]
  }
}
EOF

# The rootfs shape's tree: busybox as /bin/true again, and the directories
# recipes/rootfs.lua mounts on, which an unprivileged user could not create
# inside it. World-readable, so a user namespace's root mapped to anyone can
# walk it.
rootfs=build/bench/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs/bin" "$rootfs/proc" "$rootfs/dev" "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
ln -s busybox "$rootfs/bin/true"
chmod -R a+rX "$rootfs"

BENCH_BUNDLE=$bundle BENCH_ROOTFS=$rootfs lua bench/bench.lua

# Networks, as root only: in a network namespace of the bench's own, with its
# lease directory in a temp dir, so nothing is made on the host's network.
if [ "$(id -u)" = 0 ]; then
	echo
	netdir=$(mktemp -d)
	NSBOX_NET_DIR=$netdir unshare --net lua bench/network.lua
	rm -rf "$netdir"
else
	echo "bench: the network table needs root (veth); skipped" >&2
fi
