#!/bin/sh
# make asan: run spec files with every Lua interpreter of the suite (busted,
# and each `lua` the specs start, as root or as uid 65534) loading the ASan and
# UBSan build of nsbox.core, build-asan/nsbox/core.so. lua5.4 is not built
# with ASan, so a wrapper `lua` first in PATH preloads the runtime into it, and
# LUA_INIT makes `require "nsbox.core"` load that build. Reports go to files
# (a sandboxed child's stderr is its command's); any error in one fails the run.
set -u
tree=$(pwd)
out=$tree/build-asan
bin=$out/bin
logs=$out/log

mkdir -p "$bin"
# Root's and uid 65534's processes may report under one name (below): the
# directory gives its group to the reports, and the wrapper's umask lets the
# group write them.
rm -rf "$logs" && mkdir -p "$logs" && chgrp nogroup "$logs" && chmod 2777 "$logs"
cc -shared -fPIC -O2 -Wall -Wextra -Werror spec/support/asan-preload.c -o "$out/preload.so" || exit 1
# Reports are named by the interpreter's pid and then the reporting process's,
# which is 1 for every sandbox with a pid namespace.
for name in lua lua5.4; do
	cat > "$bin/$name" <<-WRAPPER
		#!/bin/sh
		umask 002
		LD_PRELOAD="$(cc -print-file-name=libasan.so) $out/preload.so" \\
		ASAN_OPTIONS="log_path=$logs/asan.\$\$:\$ASAN_OPTIONS" exec /usr/bin/lua5.4 "\$@"
	WRAPPER
	chmod 755 "$bin/$name"
done

export PATH="$bin:$PATH"
export LUA_INIT_5_4="package.preload['nsbox.core'] = package.loadlib('$out/nsbox/core.so', 'luaopen_nsbox_core')"
# The shared-memory child runs on its own stack, unknown to ASan: no fake stacks.
export ASAN_OPTIONS="detect_stack_use_after_return=0:detect_leaks=1"
export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1"

# A report from the shared-memory child may still reach its stderr.
busted "$@" 2>&1 | tee "$logs/busted.out"
status=$(tail -n 1 "$logs/busted.out" | grep -q " 0 failed" && echo 0 || echo 1)

errors=$(grep -l -E "ERROR: [A-Za-z]+Sanitizer|runtime error:|Sanitizer: nested bug" "$logs"/*)
if [ -n "$errors" ]; then
	for f in $errors; do [ "$f" = "$logs/busted.out" ] || { echo "== $f"; cat "$f"; }; done
	echo "make asan: sanitizer errors reported, in: $(echo $errors)" >&2
	exit 1
fi
echo "make asan: no sanitizer error (reports in $logs)"
exit "$status"
