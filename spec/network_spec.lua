-- The network key. Nothing here touches the host's network: every spec
-- builds an "outer" network namespace of its own (a process holding
-- `unshare --net`), runs nsbox inside it, and talks only to addresses in
-- namespaces it made. The last spec checks the host's links, addresses and
-- rules are as they were.
local H = require "helpers"
local B = require "support.busybox"

local BUSYBOX = "/bin/busybox"
local ROOT_PATHS = 'package.path = "lua/?.lua;lua/?/init.lua;" .. package.path; '
  .. 'package.cpath = "build/?.so;" .. package.cpath; '

-- What may differ between two looks at an unchanged network: address lifetimes counting down.
local function host_network()
  local out = {}
  for _, command in ipairs { "ip -o link", "ip -o addr", "nft list ruleset", "iptables-save 2>/dev/null" } do
    out[#out + 1] = H.sh(command):gsub("%w+_lft %S+", ""):gsub("\n# [^\n]*", "")
  end
  return table.concat(out, "\n")
end

local host_before = H.root and host_network()

-- A namespace, with `ip` and a shell run inside it, dropped when the spec ends.
local function namespace()
  local file = os.tmpname()
  local out = H.sh(("unshare --net sh -c 'ip link set lo up; echo $$ > %s; exec sleep 600' >/dev/null 2>&1 & "
    .. "while [ ! -s %s ]; do sleep 0.05; done; cat %s"):format(file, file, file))
  os.remove(file)
  local pid = assert(math.tointeger(tonumber(out:match("%d+"))), out)
  local ns = { pid = pid }
  function ns.sh(command)
    return H.sh("nsenter --net=/proc/" .. pid .. "/ns/net sh -c " .. H.quote(command))
  end
  H.on_end(function() H.sh("kill " .. pid) end)
  return ns
end

-- command in a mount namespace of its own where /dev/net/tun is usable by
-- anyone, as on a stock Debian (0666); some containers make it 0600, and the
-- host's is not ours to change.
local function with_usable_tun(dir, command)
  local dev = dir .. "/dev"
  local setup = ("mkdir -p %s && mount -t tmpfs nsbox %s && mknod -m 666 %s/tun c 10 200 && "
    .. "mount --bind %s/tun /dev/net/tun && exec %s"):format(dev, dev, dev, dev, command)
  return "unshare --mount --propagation private sh -c " .. H.quote(setup)
end

-- pasta copies the caller's addresses and routes: ns gets a link of its own
-- with 192.168.88.1/24 and a default route through 192.168.88.254 (the
-- address pasta's sandbox reaches the caller's loopback at).
local function routable(ns)
  assert(select(3, ns.sh("ip link add o-up type veth peer name o-peer && ip link set o-peer up && "
    .. "ip addr add 192.168.88.1/24 dev o-up && ip link set o-up up && "
    .. "ip route add default via 192.168.88.254 dev o-up")) == 0)
  return ns
end

-- The links of ns once only lo is left, or after 10 s: a veth goes with its
-- sandbox's namespace, which the kernel takes apart in the background.
local function links_when_settled(ns)
  return (ns.sh("for i in $(seq 100); do [ $(ip -o link | wc -l) = 1 ] && break; sleep 0.1; done; ip -o link"))
end

-- A script's words for the private directories (/tmp/nsbox-net-PID-...) its process has.
local OWN_PRIVATE_DIRS = 'io.popen("ls -d /tmp/nsbox-net-$PPID-* 2>/dev/null"):read("a")'

-- command in a mount namespace of its own with an empty /run, where nsbox
-- makes its default directories as on a machine just booted.
local function with_empty_run(command)
  return "unshare --mount --propagation private sh -c " .. H.quote("mount -t tmpfs -o mode=755 nsbox /run && "
    .. "umask 022 && exec " .. command)
end

-- Run a Lua script (nsbox loaded as `nsbox`) inside ns, as root or as nobody: stdout, stderr, status.
-- opts: nobody, tun (with_usable_tun), env (more NAME=value words), default_dirs (with_empty_run, and
-- no NSBOX_NET_DIR).
local function lua_in(ns, dir, script, opts)
  opts = opts or {}
  local file = dir .. "/script.lua"
  H.write(file, ROOT_PATHS .. "local nsbox = require 'nsbox'\n" .. script, "644")
  assert(os.execute("chmod 755 " .. H.quote(dir)))
  local net_dir = opts.default_dirs and "" or ("NSBOX_NET_DIR=" .. H.quote(dir .. "/net"))
  local command = ("nsenter --net=/proc/%d/ns/net env %s %s%s /usr/bin/lua5.4 %s"):format(ns.pid,
    net_dir, opts.env or "", opts.nobody and H.NOBODY or "", H.quote(file))
  if opts.tun then command = with_usable_tun(dir, command) end
  if opts.default_dirs then command = with_empty_run(command) end
  return H.sh(command)
end

-- A busybox httpd serving text (and /cgi-bin/peer, which answers the client's address) from a new dir.
local function web_root(dir, name, text)
  local root = dir .. "/" .. name
  assert(os.execute("mkdir -p " .. H.quote(root .. "/cgi-bin") .. " && chmod -R 755 " .. H.quote(dir)))
  H.write(root .. "/index.html", text, "644")
  H.write(root .. "/cgi-bin/peer",
    "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n%s\\n' \"$REMOTE_ADDR\"\n", "755")
  return root
end

-- A server in ns's namespace until the spec ends.
local function serve(ns, root, address_port)
  local pid = ns.sh(("%s httpd -f -p %s -h %s >/dev/null 2>&1 & echo $!"):format(BUSYBOX, address_port, H.quote(root)))
  H.on_end(function() H.sh("kill " .. H.trim(pid)) end)
end

-- A shell loop fetching url until it answers: a server in another process may not listen yet.
local function fetch(url)
  return ("(for i in $(seq 100); do %s wget -q -O - %s && exit 0; sleep 0.1; done; exit 1)"):format(BUSYBOX, url)
end

-- The far namespace: linked to outer by a veth pair of the spec's own, on
-- 192.168.77.0/24, with no route to any sandbox subnet.
local function far_namespace(outer)
  local far = namespace()
  assert(select(3, outer.sh(("ip link add o-far type veth peer name far0 netns %d && "
    .. "ip addr add 192.168.77.1/24 dev o-far && ip link set o-far up"):format(far.pid))) == 0)
  assert(select(3, far.sh("ip addr add 192.168.77.2/24 dev far0 && ip link set far0 up")) == 0)
  return far
end

describe("network", function()
  describe("refuses before any fork", function()
    local function refusal_of(recipe)
      local ok, err = pcall(require("nsbox").recipe, recipe)
      assert.is_false(ok)
      return err
    end
    local function refusal(network) return refusal_of { namespaces = { "net" }, network = network } end

    H.root_it("a bad address, a gateway outside the subnet, an unknown mode", function()
      assert.matches("'network.address' must be an IPv4 address with a prefix length",
        refusal { mode = "veth", address = "10.88.0.300/16" })
      assert.matches("'network.gateway' 10.89.0.1 is outside the subnet 10.88.0.0/16",
        refusal { mode = "veth", address = "10.88.0.2/16", gateway = "10.89.0.1" })
      assert.matches("'network.address' 10.88.0.0 is not a host address",
        refusal { mode = "veth", address = "10.88.0.0/16" })
      assert.matches("'network.mode' must be one of \"veth\", \"slirp4netns\", \"pasta\", got tap$",
        refusal { mode = "tap" })
      assert.matches("'network.bridge' is only for mode \"veth\"", refusal { mode = "slirp4netns", bridge = "br0" })
      assert.matches("'network.ports%[1%].address' 127.0.0.1: a veth sandbox is reached on the caller's other",
        refusal { mode = "veth", ports = { { host = 8080, address = "127.0.0.1" } } })
      assert.matches("'network.ports%[2%]' forwards tcp port 80 again",
        refusal { mode = "slirp4netns", ports = { { host = 80 }, { host = 80, sandbox = 8080 } } })
      assert.matches("'network' cannot be combined with 'join' or 'time' yet",
        refusal_of { namespaces = { "net", "time" }, time = { monotonic = 1 }, network = { mode = "slirp4netns" } })
      assert.matches("'network' needs the 'net' namespace",
        select(2, pcall(require("nsbox").recipe, { network = { mode = "slirp4netns" } })))
    end)

    H.root_it("a subnet overlapping another bridge's, and veth for an unprivileged user", function()
      local dir = H.temp_dir()
      local outer = namespace()
      local _, err, code = lua_in(outer, dir, [[
        local r = nsbox.recipe { namespaces = { "net" }, network = { mode = "veth", address = "10.88.0.2/16" } }
        local p = assert(nsbox.spawn(r, { "sleep", "600" }))
        local ok, e = pcall(nsbox.recipe, { namespaces = { "net" },
          network = { mode = "veth", bridge = "other0", address = "10.88.7.2/24" } })
        p:kill(); p:wait()
        error(e, 0)
      ]])
      assert.equal(1, code)
      assert.matches("'network.address': the subnet 10.88.7.0/24 overlaps 10.88.0.0/16 of bridge nsbox0", err)
      local _, err2 = lua_in(outer, dir, [[
        nsbox.recipe { namespaces = { "net" }, network = { mode = "veth" } }
      ]], { nobody = true })
      assert.matches("'network.mode' \"veth\" needs root", err2)
    end)

    H.root_it("a missing helper, naming its Debian package", function()
      local dir = H.temp_dir()
      for mode, words in pairs { slirp4netns = "slirp4netns program %(Debian package slirp4netns%)",
        pasta = "pasta program %(Debian package passt%)" } do
        local _, err = lua_in(namespace(), dir, ([[
          nsbox.recipe { namespaces = { "net" }, network = { mode = %q } }
        ]]):format(mode), { env = "PATH=/nowhere" })
        assert.matches("'network.mode' \"" .. mode .. "\" needs the " .. words, err)
      end
    end)

    H.root_it("a bad dns: no mount namespace, a bad address, too many servers, an unknown key", function()
      local function dns(value, namespaces)
        return refusal_of { namespaces = namespaces or { "net", "mount" },
          network = { mode = "slirp4netns", dns = value } }
      end
      assert.matches("'network.dns' needs the 'mount' namespace", dns({ "10.0.2.3" }, { "net" }))
      assert.matches("'network.dns%[2%]' must be an IPv4 or IPv6 address, got 1.1.1$", dns { "10.0.2.3", "1.1.1" })
      assert.matches("'network.dns.servers%[1%]' must be an IPv4 or IPv6 address, got nameserver",
        dns { servers = { "nameserver" } })
      assert.matches("'network.dns' must list 1 to 3 nameserver addresses, got 4",
        dns { "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4" })
      assert.matches("'network.dns.servers' must list 1 to 3 nameserver addresses, got 0", dns { search = { "a.org" } })
      assert.matches("'network.dns.search%[1%]' must be a domain name, got a b",
        dns { servers = { "::1" }, search = { "a b" } })
      assert.matches("'network.dns.options%[1%]' must be a resolv.conf option",
        dns { servers = { "::1" }, options = { "x\ny" } })
      assert.matches("network.dns: unknown key 'server' %(did you mean 'servers'%?%)", dns { server = { "10.0.2.3" } })
    end)
  end)

  H.root_it("puts two sandboxes on one bridge, reaching each other and the outer namespace's server", function()
    local dir = H.temp_dir()
    local outer = namespace()
    serve(outer, web_root(dir, "outer", "outer page\n"), "8000")
    local a_root = web_root(dir, "a", "sandbox a\n")
    local out, err, code = lua_in(outer, dir, ([[
      local net = { namespaces = { "net", "pid", "mount" } }
      local a = assert(nsbox.spawn(nsbox.recipe(net, { network = { mode = "veth", address = "10.88.0.10/16" } }),
        { "%s", "httpd", "-f", "-p", "80", "-h", "%s" }))
      print(nsbox.capture(nsbox.recipe(net, { network = { mode = "veth" } }),
        { "sh", "-c", %q }))
      a:kill(); a:wait()
    ]]):format(BUSYBOX, a_root, fetch("http://10.88.0.10/") .. " && " .. fetch("http://10.88.0.1:8000/")
      .. " && ip -o -4 addr show eth0"))
    assert.equal(0, code, err)
    assert.matches("^sandbox a\nouter page\n%d+: eth0%s+inet 10%.88%.0%.2/16", out)
    assert.equal("1: lo", (links_when_settled(outer):match("^(%d: lo)[^\n]*\n$")))
    assert.equal("lock\n", (H.sh("ls " .. H.quote(dir .. "/net"))))
  end)

  H.root_it("masquerades with nat = true, for a server that only knows the bridge's outer address", function()
    local dir = H.temp_dir()
    local outer = namespace()
    local far = far_namespace(outer)
    serve(far, web_root(dir, "far", "far page\n"), "192.168.77.2:8080")
    local out, err, code = lua_in(outer, dir, ([[
      print(nsbox.capture(nsbox.recipe { namespaces = { "net" }, network = { mode = "veth", nat = true } },
        { "sh", "-c", %q }))
      print(io.open("/proc/sys/net/ipv4/ip_forward"):read("l"))
    ]]):format(fetch("http://192.168.77.2:8080/") .. " && " .. fetch("http://192.168.77.2:8080/cgi-bin/peer")))
    assert.equal(0, code, err)
    assert.equal("far page\n192.168.77.1\n\ttrue\texit\t0\n0\n", out)
    assert.equal("", (outer.sh("nft list ruleset")))
  end)

  H.root_it("leaves ip_forward as it was put meanwhile, when nsbox found it on", function()
    local dir = H.temp_dir()
    local out, err, code = lua_in(namespace(), dir, [[
      local function forwarding(value)
        local f = assert(io.open("/proc/sys/net/ipv4/ip_forward", value and "w" or "r"))
        local found = value and f:write(value) or f:read("l")
        f:close()
        return found
      end
      forwarding("1") -- as docker does
      local p = assert(nsbox.spawn(nsbox.recipe { namespaces = { "net" }, network = { mode = "veth", nat = true } },
        { "sleep", "600" }))
      forwarding("0") -- as an admin does
      p:kill(); p:wait()
      print(forwarding())
    ]])
    assert.equal(0, code, err)
    assert.equal("0\n", out)
  end)

  H.root_it("keeps ip_forward on while a NAT sandbox of another bridge lives, off after the last", function()
    local dir = H.temp_dir()
    local outer = namespace()
    local out, err, code = lua_in(outer, dir, [[
      local function forwarding() return io.open("/proc/sys/net/ipv4/ip_forward"):read("l") end
      local function sandbox(network)
        network.mode, network.nat = "veth", true
        return assert(nsbox.spawn(nsbox.recipe { namespaces = { "net" }, network = network }, { "sleep", "600" }))
      end
      print(forwarding())
      local a = sandbox {}
      local b = sandbox { bridge = "nsbox1", subnet = "10.89.0.0/16" }
      print(forwarding())
      a:kill(); a:wait()
      print(forwarding())
      b:kill(); b:wait()
      print(forwarding())
    ]])
    assert.equal(0, code, err)
    assert.equal("0\n1\n1\n0\n", out)
    assert.equal("", (outer.sh("nft list ruleset")))
    assert.equal("lock\n", (H.sh("ls " .. H.quote(dir .. "/net"))))
  end)

  -- Two first spawns since boot may race to make the lease directory: the one that finds it made takes it only
  -- when it is root's, mode 0700, not a link. A dangling link, where its lock file is as missing as in no
  -- directory, is found in its place every time.
  H.root_it("refuses a link in place of the lease directory it was about to make", function()
    local dir = H.temp_dir()
    H.sh("ln -s " .. H.quote(dir .. "/gone") .. " " .. H.quote(dir .. "/net"))
    local refused = lua_in(namespace(), dir, [[
      print(nsbox.run(nsbox.recipe { namespaces = { "net" }, network = { mode = "veth" } }, { "true" }))
    ]])
    assert.matches("^nil\tlease directory " .. dir:gsub("%p", "%%%0")
      .. "/net: exists, but is not a directory of root's with mode 0700\t", refused)
    assert.is_nil(H.slurp(dir .. "/gone/lock"))
  end)

  H.root_it("keeps its leases in /run/nsbox-net, mode 0700, not in the runtime's /run/nsbox", function()
    local dir = H.temp_dir()
    local out, err, code = lua_in(namespace(), dir, [[
      print(nsbox.run(nsbox.recipe { namespaces = { "net" }, network = { mode = "veth" } }, { "true" }))
      io.write(io.popen("stat -c '%a %n' /run/* /run/nsbox-net/*"):read("a"))
    ]], { default_dirs = true })
    assert.equal(0, code, err)
    assert.equal("true\texit\t0\n700 /run/nsbox-net\n600 /run/nsbox-net/lock\n", out)
  end)

  H.root_it("forwards a port of the outer namespace to a server in the sandbox", function()
    local dir = H.temp_dir()
    local outer = namespace()
    local far = far_namespace(outer)
    local root = web_root(dir, "inside", "inside page\n")
    local out, err, code = lua_in(outer, dir, ([[
      local p = assert(nsbox.spawn(nsbox.recipe { namespaces = { "net", "pid", "mount" },
        network = { mode = "veth", ports = { { host = 8080, sandbox = 80 } } } },
        { "%s", "httpd", "-f", "-p", "80", "-h", "%s" }))
      print(os.execute(%q))
      p:kill(); p:wait()
    ]]):format(BUSYBOX, root, ("nsenter --net=/proc/%d/ns/net sh -c %s"):format(far.pid,
      H.quote(fetch("http://192.168.77.1:8080/")))))
    assert.equal(0, code, err)
    assert.equal("inside page\ntrue\texit\t0\n", out)
    assert.equal("", (outer.sh("nft list ruleset")))
  end)

  -- A user-mode helper reaching a server on the outer namespace's loopback, as uid 65534: slirp4netns
  -- through its host alias, pasta through the outer namespace's gateway (routable() gives it one to copy).
  for _, case in ipairs {
    { mode = "slirp4netns", outer = function() return namespace() end, server = "10.0.2.2" },
    { mode = "pasta", outer = function() return routable(namespace()) end, server = "192.168.88.254" },
  } do
    local name = ("gives an unprivileged sandbox %s, reaching the outer namespace's loopback"):format(case.mode)
    H.root_it(name, function()
      local dir = H.temp_dir()
      local outer = case.outer()
      local page = case.mode .. " outer loopback page\n"
      serve(outer, web_root(dir, "outer", page), "127.0.0.1:8000")
      local out, err, code = lua_in(outer, dir, ([[
        print(nsbox.capture(nsbox.recipe { namespaces = { "net" }, network = { mode = %q } },
          { "sh", "-c", %q }))
      ]]):format(case.mode, fetch(("http://%s:8000/"):format(case.server)) .. " && id -u"),
        { nobody = true, tun = true })
      assert.equal(0, code, err)
      assert.equal(page .. "0\n\ttrue\texit\t0\n", out)
      assert.equal("", (H.sh("pgrep -u 65534 -x " .. case.mode)))
    end)
  end

  H.root_it("forwards a port of the outer namespace's loopback into an unprivileged sandbox", function()
    local dir = H.temp_dir()
    local outer = namespace()
    local root = web_root(dir, "inside", "rootless inside page\n")
    local out, err, code = lua_in(outer, dir, ([[
      local p = assert(nsbox.spawn(nsbox.recipe { namespaces = { "net", "pid", "mount" }, network = {
        mode = "slirp4netns", ports = { { host = 8080, sandbox = 80, address = "127.0.0.1" } } } },
        { "%s", "httpd", "-f", "-p", "80", "-h", "%s" }))
      print(os.execute(%q))
      p:kill(); p:wait()
    ]]):format(BUSYBOX, root, fetch("http://127.0.0.1:8080/")), { nobody = true, tun = true })
    assert.equal(0, code, err)
    assert.equal("rootless inside page\ntrue\texit\t0\n", out)
  end)

  H.root_it("gives slirp4netns no descriptor of the caller's but its own, and its socket a private directory",
    function()
    local dir = H.temp_dir()
    local look = "h=$(pgrep -x slirp4netns -P $PPID); readlink /proc/$h/fd/*; "
      .. "stat -c '%a %U' $(dirname $(tr '\\0' '\\n' < /proc/$h/cmdline | sed -n 's/^--api-socket=//p'))"
    local out, err, code = lua_in(namespace(), dir, ([[
      local kept = assert(io.open(%q)) -- not close-on-exec
      local p = assert(nsbox.spawn(nsbox.recipe { namespaces = { "net" }, network = { mode = "slirp4netns",
        ports = { { host = 8080, sandbox = 80, address = "127.0.0.1" } } } }, { "sleep", "600" }))
      io.write(io.popen(%q):read("a"))
      p:kill(); p:wait()
      io.write("left: ", %s, "\n")
      kept:close()
    ]]):format(dir .. "/script.lua", look, OWN_PRIVATE_DIRS), { nobody = true, tun = true })
    assert.equal(0, code, err)
    assert.matches("\n700 nobody\nleft: \n$", out)
    assert.is_nil(out:find(dir .. "/script.lua", 1, true), out)
  end)

  it("kills a helper that is never ready, and says which", function()
    local core = require "nsbox.core"
    local pid, message = core.helper_start({ "sleep", "600" }, nil, 0.2)
    assert.is_nil(pid)
    assert.equal("sleep was not ready within 0.2 s (killed)", message)
  end)

  H.root_it("binds network.dns as /etc/resolv.conf over the caller's, for an unprivileged sandbox", function()
    local dir = H.temp_dir()
    local host_resolv = H.slurp("/etc/resolv.conf")
    local out, err, code = lua_in(namespace(), dir, [[
      local r = nsbox.recipe { namespaces = { "net", "mount" }, network = { mode = "slirp4netns",
        dns = { servers = { "10.0.2.3", "2001:db8::53" }, search = { "example.org" }, options = { "ndots:2" } } } }
      print(nsbox.capture(r, { "sh", "-c", "cat /etc/resolv.conf; echo x >> /etc/resolv.conf || echo read-only" }))
      io.write("left: ", ]] .. OWN_PRIVATE_DIRS .. [[, "\n")
    ]], { nobody = true, tun = true })
    assert.equal(0, code, err)
    assert.matches("^# network.dns of an nsbox recipe\nnameserver 10.0.2.3\nnameserver 2001:db8::53\n"
      .. "search example.org\noptions ndots:2\n.*read%-only\n\ttrue\texit\t0\nleft: \n$", out)
    assert.equal(host_resolv, H.slurp("/etc/resolv.conf"))
  end)

  H.root_it("writes network.dns in a new private directory each time, which another user cannot take", function()
    local dir = H.temp_dir()
    local out, err, code = lua_in(namespace(), dir, ([[
      local r = nsbox.recipe { namespaces = { "net", "mount" }, network = { mode = "veth", dns = { "10.88.0.1" } } }
      local function resolv_dir(p) -- the bind's source, as the sandbox's mountinfo shows it
        for line in io.lines("/proc/" .. p.pid .. "/mountinfo") do
          local name = line:match("(nsbox%%-net%%-[%%w-]+)/resolv%%.conf /etc/resolv%%.conf ")
          if name then return "/tmp/" .. name end
        end
      end
      local p = assert(nsbox.spawn(r, { "sleep", "600" }))
      local first = resolv_dir(p)
      io.write(io.popen("stat -c '%%a %%U' " .. first .. " " .. first .. "/resolv.conf"):read("a"))
      p:kill(); p:wait()
      print(os.execute(%q .. "mkdir -m 777 " .. first)) -- another user takes the name
      p = assert(nsbox.spawn(r, { "sleep", "600" }))
      print(resolv_dir(p) ~= first)
      p:kill(); p:wait()
      os.remove(first)
    ]]):format(H.NOBODY))
    assert.equal(0, code, err)
    assert.equal("755 root\n644 root\ntrue\texit\t0\ntrue\n", out)
  end)

  H.root_it("binds network.dns as /etc/resolv.conf in a rootfs", function()
    local dir = H.temp_dir()
    local rootfs = B.rootfs()
    H.on_end(function() B.remove(rootfs) end)
    local out, err, code = lua_in(namespace(), dir, ([[
      print(nsbox.capture(nsbox.recipe { namespaces = { "net", "mount" }, rootfs = %q, env = { PATH = "/bin" },
        mounts = { { type = "tmpfs", target = "/etc" } }, network = { mode = "veth", dns = { "10.88.0.1" } } },
        { "cat", "/etc/resolv.conf" }))
    ]]):format(rootfs))
    assert.equal(0, code, err)
    assert.equal("# network.dns of an nsbox recipe\nnameserver 10.88.0.1\n\ttrue\texit\t0\n", out)
  end)

  H.root_it("gives a sandbox pasta, reaching the outer namespace's loopback through the gateway", function()
    local dir = H.temp_dir()
    local outer = routable(namespace())
    serve(outer, web_root(dir, "outer", "pasta outer page\n"), "127.0.0.1:8000")
    local out, err, code = lua_in(outer, dir, ([[
      print(nsbox.capture(nsbox.recipe { namespaces = { "net" }, network = { mode = "pasta" } },
        { "sh", "-c", %q }))
    ]]):format(fetch("http://192.168.88.254:8000/") .. " && ip -o -4 addr show scope global"))
    assert.equal(0, code, err)
    assert.matches("^pasta outer page\n%d+: o%-up%s+inet 192%.168%.88%.1/24 .*\ttrue\texit\t0\n$", out)
    assert.equal("", (H.sh("pgrep -x pasta --nslist net --ns " .. outer.pid)))
  end)

  H.root_it("says why pasta would not start: no routable interface to copy; and leaves no directory", function()
    local dir = H.temp_dir()
    local out, err, code = lua_in(namespace(), dir, [[
      print(nsbox.spawn(nsbox.recipe { namespaces = { "net", "mount" }, network = { mode = "pasta",
        dns = { "10.0.2.3" } } }, { "true" }))
      io.write("left: ", ]] .. OWN_PRIVATE_DIRS .. [[, "\n")
    ]])
    assert.equal(0, code, err)
    assert.matches("^nil\tnetwork %(pasta%): pasta exited with status 1 before it was ready: "
      .. "No external routable interface for IPv4\n.*left: \n$", out)
  end)

  H.root_it("forwards a port of the outer namespace's loopback into a pasta sandbox", function()
    local dir = H.temp_dir()
    local outer = routable(namespace())
    local root = web_root(dir, "inside", "pasta inside page\n")
    local out, err, code = lua_in(outer, dir, ([[
      local p = assert(nsbox.spawn(nsbox.recipe { namespaces = { "net", "pid", "mount" }, network = {
        mode = "pasta", ports = { { host = 8080, sandbox = 80, address = "127.0.0.1" } } } },
        { "%s", "httpd", "-f", "-p", "80", "-h", "%s" }))
      print(os.execute(%q))
      p:kill(); p:wait()
    ]]):format(BUSYBOX, root, fetch("http://127.0.0.1:8080/")))
    assert.equal(0, code, err)
    assert.equal("pasta inside page\ntrue\texit\t0\n", out)
  end)

  H.root_it("nsbox net-gc removes what a crashed caller left: its lease, and the bridge only it used", function()
    local dir = H.temp_dir()
    local outer = namespace()
    local out, err, code = lua_in(outer, dir, [[
      local p = assert(nsbox.spawn(nsbox.recipe { namespaces = { "net" }, network = { mode = "veth", nat = true } },
        { "sleep", "600" }, { stdout = "null", stderr = "null" }))
      print(p.pid)
      os.exit(0) -- as a crash would: the handle is never closed
    ]])
    assert.equal(0, code, err)
    local pid = H.trim(out)
    H.sh("kill -9 " .. pid .. "; while kill -0 " .. pid .. " 2>/dev/null; do sleep 0.05; done")
    local gc = ("nsenter --net=/proc/%d/ns/net env NSBOX_NET_DIR=%s bin/nsbox net-gc"):format(outer.pid,
      H.quote(dir .. "/net"))
    assert.same({ ("removed lease of 10.88.0.2 to pid %s, which is gone\nremoved NAT table nsbox-nsbox0\n"
      .. "removed bridge nsbox0\n"):format(pid), "", 0 }, { H.sh(gc) })
    assert.equal("1: lo", (links_when_settled(outer):match("^(%d: lo)[^\n]*\n$")))
    assert.same({ "", "", 0 }, { H.sh(gc) })
  end)

  H.root_it("nsbox net-gc removes the private directories a crashed caller left", function()
    local dir = H.temp_dir()
    local outer = namespace()
    local out, err, code = lua_in(outer, dir, [[
      local p = assert(nsbox.spawn(nsbox.recipe { namespaces = { "net", "mount" }, network = { mode = "slirp4netns",
        ports = { { host = 8080, sandbox = 80, address = "127.0.0.1" } }, dns = { "10.0.2.3" } } },
        { "sleep", "600" }, { stdout = "null", stderr = "null" }))
      print(io.open("/proc/self/stat"):read("a"):match("^%d+"), p.pid)
      os.exit(0) -- as a crash would: the handle is never closed
    ]], { tun = true })
    assert.equal(0, code, err)
    local caller, sandbox = out:match("^(%d+)\t(%d+)\n$")
    H.sh("kill -9 " .. sandbox)
    local left = "ls -d /tmp/nsbox-net-" .. caller .. "-* 2>/dev/null | wc -l"
    assert.equal("2\n", (H.sh(left)))
    local gc = ("nsenter --net=/proc/%d/ns/net env NSBOX_NET_DIR=%s bin/nsbox net-gc"):format(outer.pid,
      H.quote(dir .. "/net"))
    local said = H.sh(gc)
    local _, removed = said:gsub("removed private directory /tmp/nsbox%-net%-" .. caller .. "%-[%w-]+ of pid "
      .. caller .. ", which is gone\n", "")
    assert.equal(2, removed, said)
    assert.equal("0\n", (H.sh(left)))
  end)

  H.root_it("leaves the host's links, addresses and firewall rules as they were", function()
    assert.equal(host_before, host_network())
  end)
end)
