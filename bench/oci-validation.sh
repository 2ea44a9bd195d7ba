#!/bin/sh
# The OCI runtime conformance tests (opencontainers/runtime-tools validation/*) against crun, runc and nsbox.
#   bench/oci-validation.sh DIR [TEST...]
# DIR holds the built test binaries (validation/NAME -> DIR/NAME; see doc/runtime.md for building them);
# without TESTs, every executable in DIR. Prints one line per test: the tests passed of those run, per runtime.
# Everything happens in a temp dir: a busybox rootfs tarball, a private --root for each runtime, the bundles
# the tests make under TMPDIR. Run as root.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 DIR [TEST...]" >&2; exit 2; }
bin=$(cd "$1" && pwd); shift
nsbox=$(cd "$(dirname "$0")/.." && pwd)/bin/nsbox
work=$(mktemp -d /tmp/nsbox-ocival.XXXXXX)
export TMPDIR="$work"
trap 'rm -rf "$work"' EXIT

# The tests untar rootfs-amd64.tar.gz from their working directory: a busybox with every applet linked.
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/run"
cp /bin/busybox "$work/rootfs/bin/"
for applet in $(/bin/busybox --list); do [ -e "$work/rootfs/bin/$applet" ] || ln -s busybox "$work/rootfs/bin/$applet"; done
for d in dev proc sys tmp root; do mkdir -p "$work/rootfs/$d"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$work/rootfs/etc/passwd"
echo 'root:x:0:' > "$work/rootfs/etc/group"
tar -C "$work/rootfs" -czf "$work/run/rootfs-$(go env GOARCH 2>/dev/null || echo amd64).tar.gz" .
touch "$work/run/runtimetest" && chmod +x "$work/run/runtimetest"

# Each runtime keeps its state under $work. crun refuses a hybrid cgroup host while /sys/fs/cgroup/unified
# has controllers: it runs in a private mount namespace without that mount (the host keeps it).
mkdir -p "$work/state/crun" "$work/state/runc" "$work/state/nsbox"
cat > "$work/crun" <<WRAP
#!/bin/sh
exec unshare --mount --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec crun --cgroup-manager=disabled --root "$work/state/crun" "\$@"' crun "\$@"
WRAP
printf '#!/bin/sh\nexec runc --root "%s" "$@"\n' "$work/state/runc" > "$work/runc"
printf '#!/bin/sh\nexec "%s" --root "%s" "$@"\n' "$nsbox" "$work/state/nsbox" > "$work/nsbox"
chmod +x "$work/crun" "$work/runc" "$work/nsbox"

# ok/total of one test's TAP; a test that reports its failure as a diagnostic only ("1..0" and an error) is 0/1.
score() {
  awk '/^ok /{ok++; n++} /^not ok /{n++} /"error": "[^"]/{diag=1}
       END{ if (n == 0) { n = 1; ok = diag ? 0 : 1 } printf "%d/%d", ok, n }'
}

[ $# -gt 0 ] || set -- $(cd "$bin" && for f in *; do [ -x "$f" ] && echo "$f"; done)
printf '%-32s %8s %8s %8s\n' test crun runc nsbox
cd "$work/run"
for t in "$@"; do
  line=$(printf '%-32s' "$t")
  for r in crun runc nsbox; do
    if command -v "$r" >/dev/null 2>&1 || [ "$r" = nsbox ]; then
      s=$(RUNTIME="$work/$r" timeout 300 "$bin/$t" 2>"$work/$t.$r.err" | tee "$work/$t.$r.tap" | score)
      [ -z "${KEEP:-}" ] || cp "$work/$t.$r.tap" "$work/$t.$r.err" "$KEEP/"
    else
      s=-
    fi
    line="$line $(printf '%8s' "$s")"
  done
  echo "$line"
done
