#!/bin/sh
# The id-map race of issue #9: N fresh unprivileged processes, one spawn each
# (a fresh process is slow to fault its pages in, which widened the window
# where the CLONE_VM child clobbered the errno of the parent writing gid_map).
# Before the fix: 14 failures in 8000; run from the checkout as root:
#   sh bench/idmap_race.sh [N]
cd "$(dirname "$0")/.." || exit 1
n=${1:-10000}
chmod -R a+rX . 2>/dev/null
setpriv --reuid=65534 --regid=65534 --clear-groups sh -c '
i=0 failed=0
while [ $i -lt "$1" ]; do
	i=$((i + 1))
	lua5.4 -e "package.path = \"lua/?.lua;lua/?/init.lua;\" .. package.path
		package.cpath = \"build/?.so;\" .. package.cpath
		local ok, how, code = require(\"nsbox\").run({ namespaces = { \"user\", \"uts\", \"pid\", \"mount\",
			\"ipc\", \"net\" }, mounts = { { type = \"proc\", target = \"/proc\" } } }, { \"/bin/true\" })
		if not ok then print(how, code) os.exit(1) end" || failed=$((failed + 1))
done
echo "$1 fresh unprivileged spawns, $failed failed"
[ "$failed" = 0 ]' sh "$n"
