#!/bin/sh
# Install what nsbox needs on Debian 12 and make `lua` run Lua 5.4.
# Idempotent: packages already present are not fetched again.
set -eu

# busybox-static builds the specs' test root filesystems; crun runs the same
# OCI bundle as nsbox for the side-by-side spec (and runc too for make bench); bubblewrap runs the bwrap
# command lines nsbox takes; lua-check is luacheck, for make lint. Networks: libnftables-dev (NAT and ports,
# loaded at run time), slirp4netns and passt (pasta) (rootless networks), nftables (the specs read the rules with nft).
# podman (with conmon) and containerd are the engines the runtime's specs drive nsbox from.
PACKAGES="make gcc libc6-dev lua5.4 liblua5.4-dev libcap-dev libseccomp-dev lua-busted luarocks lua-cjson bubblewrap
          lua-check iproute2 procps util-linux busybox-static crun runc
          libnftables-dev slirp4netns passt nftables podman conmon containerd"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "setup.sh: missing packages:$missing (run as root to install them)" >&2
		exit 1
	fi
	echo "setup.sh: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# luarocks pulls in Lua 5.1 and makes it `lua`; nsbox and its specs are 5.4.
if ! lua -v 2>&1 | grep -q "^Lua 5\.4"; then
	if [ "$(id -u)" = 0 ]; then
		update-alternatives --quiet --set lua-interpreter /usr/bin/lua5.4
		update-alternatives --quiet --set lua-compiler /usr/bin/luac5.4 2>/dev/null || true
	fi
	lua -v 2>&1 | grep -q "^Lua 5\.4" || { echo "setup.sh: 'lua' is not Lua 5.4; run as root" >&2; exit 1; }
fi
