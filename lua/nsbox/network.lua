-- nsbox.network: the `network` key. A new network namespace holds only `lo`
-- (which nsbox.ns brings up unless the recipe says loopback = false);
-- `network` gives it a way out:
--
--   mode = "veth" (root): a veth pair, one end in the sandbox as eth0 with
--     its address, mtu and default route, the other on a bridge in the
--     caller's namespace (created if missing, with the gateway address);
--     nat = true masquerades the subnet; addresses come from a lease file.
--   mode = "slirp4netns" (any user): slirp4netns, started against the
--     sandbox's namespace, gives it tap0 (10.0.2.100/24, gateway 10.0.2.2,
--     which reaches the caller's loopback) and ends with the sandbox.
--   mode = "pasta" (any user): pasta (Debian's passt), likewise; the sandbox
--     gets a copy of the caller's addresses and routes, and the gateway's
--     address reaches the caller's loopback.
--   dns: a resolv.conf, written by the parent while a sandbox of the recipe
--     lives and bound read-only over the sandbox's /etc/resolv.conf by a step
--     among nsbox.rootfs's (M.resolv_mount).
--
-- Everything is set up by the parent while the child waits, its namespaces
-- made but nothing run (core.spawn's before_release), and taken down when it
-- is reaped (after_exit). Shared things (the bridge, the NAT table) are
-- counted in a lease file under a lock: the last sandbox to end removes what
-- nsbox created, never what it found.

local core = require "nsbox.core"
local check = require "nsbox.check"

local invalid = check.invalid

local M = {}

local MODES = { "veth", "slirp4netns", "pasta" }
local FIELDS = { mode = true, bridge = true, address = true, subnet = true, gateway = true, mtu = true, nat = true,
  ports = true, dns = true }
local DEFAULT = { bridge = "nsbox0", subnet = "10.88.0.0/16", mtu = 1500 }
local SANDBOX_LINK = "eth0"
local ENOENT, EEXIST = 2, 17

-- Where leases are kept: NSBOX_NET_DIR (a test's temp dir), else
-- /run/nsbox-net: not inside the OCI runtime's root /run/nsbox, where a
-- directory is a container's (a container named "net" would be refused).
function M.state_dir()
  return os.getenv("NSBOX_NET_DIR") or "/run/nsbox-net"
end

-- ---- IPv4 addresses as integers ----

local function parse_ip(text)
  local a, b, c, d = text:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  local n = 0
  for _, part in ipairs { a, b, c, d } do
    local v = tonumber(part)
    if v > 255 or (#part > 1 and part:sub(1, 1) == "0") then return nil end
    n = n * 256 + v
  end
  return n
end

local function ip_text(n)
  return ("%d.%d.%d.%d"):format(n >> 24 & 255, n >> 16 & 255, n >> 8 & 255, n & 255)
end

local function mask(prefix)
  return prefix == 0 and 0 or (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
end

-- "10.88.0.2/16" -> { ip = ..., prefix = 16, net = first address, last = broadcast }
local function parse_cidr(text, where)
  check.type(text, "string", where)
  local ip, prefix = text:match("^([%d.]+)/(%d+)$")
  ip, prefix = ip and parse_ip(ip), tonumber(prefix)
  if not ip or not prefix or prefix > 30 or prefix < 8 then
    invalid("'%s' must be an IPv4 address with a prefix length from 8 to 30 (CIDR, like \"10.88.0.2/16\"), got %s",
      where, check.shown(text))
  end
  local net = ip & mask(prefix)
  return { ip = ip, prefix = prefix, net = net, last = net | (~mask(prefix) & 0xFFFFFFFF) }
end

local function cidr_text(c)
  return ("%s/%d"):format(ip_text(c.net), c.prefix)
end

local function overlaps(a, b)
  return a.net <= b.last and b.net <= a.last
end

-- An address of the subnet a sandbox may have: neither its network nor its broadcast address.
local function host_in(subnet, ip, where)
  if ip <= subnet.net or ip >= subnet.last then
    invalid("'%s' %s is not a host address of the subnet %s", where, ip_text(ip), cidr_text(subnet))
  end
end

-- ---- validation ----

local function which(program)
  for dir in (os.getenv("PATH") or "/usr/bin:/bin"):gmatch("[^:]+") do
    local f = io.open(dir .. "/" .. program)
    if f then f:close(); return true end
  end
  return false
end

local function check_bridge(name)
  check.type(name, "string", "network.bridge")
  if #name == 0 or #name > 15 or not name:match("^[%w_.-]+$") then
    invalid("'network.bridge' must be 1 to 15 letters, digits, '_', '.' or '-', got %s", check.shown(name))
  end
  return name
end

local function check_ports(ports, mode)
  local out, seen = {}, {}
  for i, p in ipairs(check.list(ports, "network.ports")) do
    local where = ("network.ports[%d]"):format(i)
    check.type(p, "table", where)
    check.known_keys(p, { host = true, sandbox = true, proto = true, address = true }, where)
    local port = {
      host = check.integer(p.host, where .. ".host", 1, 65535, "a port"),
      sandbox = check.integer(p.sandbox or p.host, where .. ".sandbox", 1, 65535, "a port"),
      proto = p.proto or "tcp",
      address = p.address,
    }
    if port.proto ~= "tcp" and port.proto ~= "udp" then
      invalid("'%s.proto' must be \"tcp\" or \"udp\", got %s", where, check.shown(port.proto))
    end
    if port.address ~= nil then
      local ip = type(port.address) == "string" and parse_ip(port.address)
      if not ip then invalid("'%s.address' must be an IPv4 address, got %s", where, check.shown(port.address)) end
      if mode == "veth" and ip >> 24 == 127 then
        invalid("'%s.address' %s: a veth sandbox is reached on the caller's other addresses, not loopback",
          where, port.address)
      end
    end
    local key = port.proto .. ":" .. port.host
    if seen[key] then invalid("'%s' forwards %s port %d again (also %s)", where, port.proto, port.host, seen[key]) end
    seen[key] = where
    out[i] = port
  end
  return out
end

-- The names in dir, none if it cannot be read.
local function names_in(dir)
  local names, p = {}, io.popen("ls -1 '" .. dir:gsub("'", "'\\''") .. "' 2>/dev/null")
  for name in p:lines() do names[#names + 1] = name end
  p:close()
  return names
end

-- The lease files of our network namespace's bridges: { [bridge] = path }.
local function state_files()
  local found, dir = {}, M.state_dir()
  for _, name in ipairs(names_in(dir)) do
    local bridge = name:match("^(.-)@" .. M.netns_id() .. "$")
    if bridge then found[bridge] = dir .. "/" .. name end
  end
  return found
end

-- The subnets other bridges' lease files record: { [bridge] = subnet }.
local function recorded_subnets()
  local found = {}
  for bridge, path in pairs(state_files()) do
    local f = io.open(path)
    local subnet = f and f:read("a"):match("subnet ([%d./]+)")
    if f then f:close() end
    if subnet then found[bridge] = parse_cidr(subnet, "lease file " .. path) end
  end
  return found
end

local function validate_veth(n, out)
  local _, _, euid = core.ids()
  if euid ~= 0 then
    invalid("'network.mode' \"veth\" needs root (creating links in the caller's namespace); "
      .. "unprivileged users have \"slirp4netns\"")
  end
  out.bridge = check_bridge(n.bridge or DEFAULT.bridge)
  local subnet
  if n.address ~= nil then
    local a = parse_cidr(n.address, "network.address")
    subnet, out.address = a, a.ip
    host_in(subnet, a.ip, "network.address")
    if n.subnet ~= nil then invalid("'network.subnet': give either address (with its prefix) or subnet") end
  else
    subnet = parse_cidr(n.subnet or DEFAULT.subnet, "network.subnet")
  end
  out.subnet = subnet
  if n.gateway ~= nil then
    out.gateway = type(n.gateway) == "string" and parse_ip(n.gateway)
    if not out.gateway then invalid("'network.gateway' must be an IPv4 address, got %s", check.shown(n.gateway)) end
    if out.gateway & mask(subnet.prefix) ~= subnet.net then
      invalid("'network.gateway' %s is outside the subnet %s", n.gateway, cidr_text(subnet))
    end
  else
    out.gateway = subnet.net + 1
  end
  host_in(subnet, out.gateway, "network.gateway")
  if out.address == out.gateway then invalid("'network.address' is the gateway's address %s", ip_text(out.gateway)) end
  for bridge, other in pairs(recorded_subnets()) do
    if bridge ~= out.bridge and overlaps(subnet, other) then
      invalid("'network.address': the subnet %s overlaps %s of bridge %s", cidr_text(subnet), cidr_text(other), bridge)
    elseif bridge == out.bridge and (other.net ~= subnet.net or other.prefix ~= subnet.prefix) then
      invalid("'network.address': bridge %s is on the subnet %s, not %s", bridge, cidr_text(other), cidr_text(subnet))
    end
  end
  out.nat = check.boolean(n, "nat", "network.nat") or false
  if out.nat or out.ports then
    local ok, why = core.nft_check()
    if not ok then invalid("'network.%s': %s", out.nat and "nat" or "ports", why) end
  end
end

-- The programs of the user-mode modes, and the Debian packages that have them.
local HELPERS = { slirp4netns = { program = "slirp4netns", package = "slirp4netns" },
  pasta = { program = "pasta", package = "passt" } }

local function validate_user_mode(n)
  for _, key in ipairs { "bridge", "address", "subnet", "gateway", "nat" } do
    if n[key] ~= nil then invalid("'network.%s' is only for mode \"veth\"", key) end
  end
  local helper = HELPERS[n.mode]
  if not which(helper.program) then
    invalid("'network.mode' \"%s\" needs the %s program (Debian package %s)", n.mode, helper.program, helper.package)
  end
  local tun = io.open("/dev/net/tun", "r+")
  if not tun then
    invalid("'network.mode' \"%s\" needs read and write access to /dev/net/tun (usually mode 0666)", n.mode)
  end
  tun:close()
end

-- An address for resolv.conf's nameserver: IPv4, or IPv6 (hex groups and colons, an IPv4 tail allowed).
local function check_server(value, where)
  local ok = type(value) == "string" and (parse_ip(value)
    or (value:match("^[%x:]+[%d.]*$") and value:find(":.*:") and #value <= 45))
  if not ok then invalid("'%s' must be an IPv4 or IPv6 address, got %s", where, check.shown(value)) end
  return value
end

local function check_words(list, where, pattern, what)
  return check.list_of(list, where, function(word, at)
    if type(word) ~= "string" or not word:match(pattern) then
      invalid("'%s' must be %s, got %s", at, what, check.shown(word))
    end
    return word
  end)
end

-- glibc reads at most 3 nameservers (MAXNS); more would be dropped without a word.
local MAX_SERVERS = 3

-- dns = { "10.88.0.1", ... } or { servers = { ... }, search = { ... }, options = { ... } }.
local function validate_dns(dns, has)
  check.type(dns, "table", "network.dns")
  check.needs(has, "mount", "network.dns")
  local form = #dns > 0 and { servers = dns } or dns
  check.known_keys(form, { servers = true, search = true, options = true }, "network.dns")
  local where = form == dns and "network.dns.servers" or "network.dns"
  local servers = check.list_of(form.servers or {}, where, check_server)
  if #servers == 0 or #servers > MAX_SERVERS then
    invalid("'%s' must list 1 to %d nameserver addresses, got %d", where, MAX_SERVERS, #servers)
  end
  return {
    servers = servers,
    search = check_words(form.search or {}, "network.dns.search", "^[%w_-]+[%w_.-]*$", "a domain name"),
    options = check_words(form.options or {}, "network.dns.options", "^[%w_:.-]+$",
      "a resolv.conf option like \"ndots:2\""),
  }
end

function M.validate(t, r, has)
  local n = check.type(t.network, "table", "network")
  check.known_keys(n, FIELDS, "network")
  check.needs(has, "net", "network")
  if t.join ~= nil or t.time ~= nil then
    -- then the child makes its namespaces itself, after nsbox has configured the one it has
    invalid("'network' cannot be combined with 'join' or 'time' yet")
  end
  local out = { mode = n.mode }
  if type(n.mode) ~= "string" or not check.set_of(MODES)[n.mode] then
    invalid("'network.mode' must be one of \"%s\", got %s", table.concat(MODES, "\", \""), check.shown(n.mode))
  end
  out.mtu = check.integer(n.mtu or DEFAULT.mtu, "network.mtu", 68, 65535)
  if n.ports ~= nil then out.ports = check_ports(n.ports, n.mode) end
  if n.mode == "veth" then validate_veth(n, out) else validate_user_mode(n) end
  if n.dns ~= nil then out.dns = validate_dns(n.dns, has) end
  r.network = out
end

-- No step: the parent does it all while the child waits (see attach).
function M.compile() end

-- ---- the lease file ----

function M.netns_id()
  return (core.nsid(nil, "net"))
end

-- A process's start time (in clock ticks since boot): with its pid, who holds a lease.
local function start_time(pid)
  local f = io.open(("/proc/%d/stat"):format(pid))
  if not f then return nil end
  local stat = f:read("a")
  f:close()
  local fields = {}
  for word in stat:match("%) (.*)$"):gmatch("%S+") do fields[#fields + 1] = word end
  return fields[20]
end

local function alive(lease)
  return start_time(lease.pid) == lease.started
end

local function state_path(bridge)
  return ("%s/%s@%d"):format(M.state_dir(), bridge, M.netns_id())
end

local function read_state(path)
  local state = { leases = {} }
  local f = io.open(path)
  if not f then return state end
  for line in f:lines() do
    local key, rest = line:match("^(%S+) ?(.*)$")
    if key == "lease" then
      local ip, pid, started, link, ports = rest:match("^(%S+) (%d+) (%d+) (%S+) (%S+)$")
      state.leases[#state.leases + 1] = { ip = parse_ip(ip), pid = tonumber(pid), started = started, link = link,
        ports = ports == "ports" }
    elseif key then
      state[key] = rest
    end
  end
  f:close()
  return state
end

local function write_state(path, state)
  if #state.leases == 0 then
    os.remove(path) -- or it was never written: nothing was leased
    return true
  end
  local lines = {}
  for _, key in ipairs { "subnet", "bridge_created", "nat" } do
    if state[key] then lines[#lines + 1] = key .. " " .. state[key] end
  end
  for _, l in ipairs(state.leases) do
    lines[#lines + 1] = ("lease %s %d %s %s %s"):format(ip_text(l.ip), l.pid, l.started, l.link,
      l.ports and "ports" or "-")
  end
  local f = assert(io.open(path .. ".new", "w"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
  return os.rename(path .. ".new", path)
end

-- The state directory made, 0700, root's. Two first spawns since boot may
-- race to make it: the loser takes the winner's, once it is sure it is a
-- directory (no link) that only root may use.
local function make_state_dir(dir)
  local made, why, errno = core.mkdir(dir, 448)
  if made then return core.chmod(dir, 448) end
  if errno ~= EEXIST then return nil, why end
  local owner, mode = core.dir_owner(dir)
  if owner ~= 0 or mode ~= 448 then return nil, "exists, but is not a directory of root's with mode 0700" end
  return true
end

-- fn() with the state directory's lock held: one lock for every bridge, so
-- that subnets are compared and addresses given out one sandbox at a time.
-- The directory is made at the first use since boot, 0700: leases are
-- root's (veth is root only). With existing_only, no directory means
-- nothing was ever leased: fn is not called.
local function locked(fn, existing_only)
  local dir = M.state_dir()
  local fd, message, errno = core.lock(dir .. "/lock", "create")
  if not fd and errno == ENOENT then
    if existing_only then return true end
    local made, why = make_state_dir(dir)
    if not made then return nil, ("lease directory %s: %s"):format(dir, why) end
    fd, message, errno = core.lock(dir .. "/lock", "create")
  end
  if not fd then return nil, message, errno end
  local results = table.pack(pcall(fn))
  core.close(fd)
  if not results[1] then return nil, tostring(results[2]) end
  return table.unpack(results, 2, results.n)
end

local function nat_table(bridge) return ('nsbox-%s'):format(bridge) end

-- The first line of a file (a sysctl's value, the forward file's), and value written in its place when given.
local function first_line(path, value)
  local f = io.open(path)
  local old = f and f:read("l")
  if f then f:close() end
  if value then
    f = assert(io.open(path, "w"))
    f:write(value, "\n")
    f:close()
  end
  return old
end
local IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"

local function ensure_nat(n, state)
  if state.nat then return true end
  local ok, message = core.nft(([[
table ip %s {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr %s ip daddr != %s masquerade
  }
}]]):format(nat_table(n.bridge), cidr_text(n.subnet), cidr_text(n.subnet)))
  if not ok then return nil, "NAT for " .. cidr_text(n.subnet) .. ": " .. message end
  state.nat = "yes"
  return true
end

-- ip_forward is one setting per network namespace, shared by its bridges:
-- what nsbox found it as is kept in one file per namespace (no bridge's
-- name: it has no '@'), under the same lock as the lease files.
local function forward_path()
  return ("%s/ip_forward.%d"):format(M.state_dir(), M.netns_id())
end

-- NAT and forwarded ports route between the bridge and the caller's other
-- links. Forwarding found off is turned on, and the forward file remembers
-- what it was, so that the last sandbox of the namespace turns it off again
-- (drop_unused); found on, it is not nsbox's to touch, then or later.
local function ensure_forwarding()
  if first_line(forward_path()) then return end
  local found = first_line(IP_FORWARD)
  if found ~= "1" then
    first_line(IP_FORWARD, "1")
    first_line(forward_path(), found)
  end
end

-- Whether a bridge other than this one has a sandbox alive in our namespace.
local function other_bridges_used(bridge)
  for other, path in pairs(state_files()) do
    if other ~= bridge then
      for _, l in ipairs(read_state(path).leases) do
        if alive(l) then return true end
      end
    end
  end
  return false
end

-- Once no bridge of the namespace has a sandbox left, forwarding put back as
-- nsbox found it, only if it is still what nsbox made it: turned off
-- meanwhile, it stays off. (Turned on again by another program while on, it
-- cannot be told from nsbox's: see doc/network.md.)
local function restore_forwarding(bridge)
  local found = first_line(forward_path())
  if not found or other_bridges_used(bridge) then return end
  if found ~= "1" and first_line(IP_FORWARD) == "1" then first_line(IP_FORWARD, found) end
  os.remove(forward_path())
end

local function ports_table(pid) return ('nsbox-ports-%d'):format(pid) end

local function forward_ports(n, pid, ip)
  local rules = {}
  for _, p in ipairs(n.ports) do
    local match = p.address and ("ip daddr " .. p.address) or "fib daddr type local"
    rules[#rules + 1] = ("    %s %s dport %d dnat to %s:%d"):format(match, p.proto, p.host, ip_text(ip), p.sandbox)
  end
  local body = table.concat(rules, "\n")
  local ok, message = core.nft(([[
table ip %s {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
%s
  }
  chain output {
    type nat hook output priority -100; policy accept;
%s
  }
}]]):format(ports_table(pid), body, body))
  if not ok then return nil, "forward ports: " .. message end
  return true
end

local function ensure_bridge(n, state)
  if core.link_exists(n.bridge) then return core.link_up(n.bridge) end
  local ok, message = core.bridge_add(n.bridge)
  if not ok then return nil, message end
  state.bridge_created = "yes"
  ok, message = core.addr_add(n.bridge, ip_text(n.gateway), n.subnet.prefix)
  if not ok then return nil, message end
  return core.link_up(n.bridge)
end

local function free_address(n, state)
  local used = { [n.gateway] = true }
  for _, l in ipairs(state.leases) do used[l.ip] = true end
  if n.address then
    if used[n.address] then
      return nil, ("address %s is already in use on bridge %s"):format(ip_text(n.address), n.bridge)
    end
    return n.address
  end
  for ip = n.subnet.net + 1, n.subnet.last - 1 do
    if not used[ip] then return ip end
  end
  return nil, ("no free address left in %s on bridge %s"):format(cidr_text(n.subnet), n.bridge)
end

-- The shared things nobody uses any more, removed; only what nsbox created.
-- Says what it did to note(text).
local function drop_unused(n, state, note)
  if #state.leases > 0 then return end
  local nat = nat_table(n.bridge)
  if state.nat and core.nft("delete table ip " .. nat) then note("NAT table " .. nat) end
  restore_forwarding(n.bridge)
  if state.bridge_created and core.link_del(n.bridge) then note("bridge " .. n.bridge) end
end

local function ignore() end

-- A lease given back. The veth goes with the sandbox's namespace (the
-- kernel's cleanup, in the background); deleting it here would wait out an
-- RCU grace period, most of a veth sandbox's cost. Only a lease whose owner
-- is gone while its namespace may live on (kept by another process) has
-- its link deleted.
local function remove_lease(state, lease, delete_link)
  for i, l in ipairs(state.leases) do
    if l == lease then table.remove(state.leases, i); break end
  end
  if delete_link then core.link_del(lease.link) end
  if lease.ports then core.nft("delete table ip " .. ports_table(lease.pid)) end
end

local function prune(state, note)
  for i = #state.leases, 1, -1 do
    local l = state.leases[i]
    if not alive(l) then
      remove_lease(state, l, true)
      note(("lease of %s to pid %d, which is gone"):format(ip_text(l.ip), l.pid))
    end
  end
end

-- The sandbox's side: eth0 up with its address, and the default route.
local function configure_sandbox(n, pid, ip)
  local ok, message = core.link_up(SANDBOX_LINK, false, false, pid)
  if ok then ok, message = core.addr_add(SANDBOX_LINK, ip_text(ip), n.subnet.prefix, pid) end
  if ok then ok, message = core.route_default(SANDBOX_LINK, ip_text(n.gateway), pid) end
  return ok, message
end

local function veth_up(n, pid, state)
  local ok, message = ensure_bridge(n, state)
  if ok and n.nat then ok, message = ensure_nat(n, state) end
  if not ok then return nil, message end
  if n.nat or n.ports then ensure_forwarding() end
  local ip
  ip, message = free_address(n, state)
  if not ip then return nil, message end
  local lease = { ip = ip, pid = pid, started = start_time(pid), link = "nsbox" .. pid, ports = n.ports ~= nil }
  state.leases[#state.leases + 1] = lease
  ok, message = core.veth_add(lease.link, SANDBOX_LINK, pid, n.mtu)
  if ok then ok, message = core.link_up(lease.link, n.bridge) end
  if ok then ok, message = configure_sandbox(n, pid, ip) end
  if ok and n.ports then ok, message = forward_ports(n, pid, ip) end
  return ok, message
end

local function veth_down(n, pid, state)
  for _, l in ipairs(state.leases) do
    if l.pid == pid then remove_lease(state, l); break end
  end
  prune(state, ignore)
  drop_unused(n, state, ignore)
end

local function veth(n)
  local pid
  local function down()
    local path = state_path(n.bridge)
    local state = read_state(path)
    veth_down(n, pid, state)
    return write_state(path, state)
  end
  local function up(child)
    pid = child
    local path = state_path(n.bridge)
    local state = read_state(path)
    prune(state, ignore)
    state.subnet = cidr_text(n.subnet)
    local ok, message = veth_up(n, pid, state)
    if not ok then veth_down(n, pid, state) end
    write_state(path, state)
    if not ok then return nil, ("network (veth on %s): %s"):format(n.bridge, message) end
    return true
  end
  return function(child) return locked(function() return up(child) end) end,
    function() if pid then assert(locked(down)) end end
end

-- ---- private directories: slirp4netns's API socket, the dns resolv.conf ----

-- /tmp/nsbox-net-PID-START-XXXXXX: PID and START name the process that made
-- it, so that net-gc can tell an orphan (its maker is gone) from one in use.
local PRIVATE_DIR = "^nsbox%-net%-(%d+)%-(%d+)%-%w%w%w%w%w%w$"
local PRIVATE_FILES = { "api.sock", "resolv.conf" }

-- A new directory of ours, mode 0700, under a random name no one else had:
-- nobody can plant it, or a link in it, before us. nil, message on failure.
local function private_dir()
  local f = assert(io.open("/proc/self/stat"))
  local pid = f:read("a"):match("^%d+")
  f:close()
  local dir, message = core.mkdtemp(("/tmp/nsbox-net-%s-%s-XXXXXX"):format(pid, start_time(pid)))
  if not dir then return nil, "private directory " .. message end
  return dir
end

local function remove_private_dir(dir)
  for _, name in ipairs(PRIVATE_FILES) do os.remove(dir .. "/" .. name) end
  return os.remove(dir)
end

-- The caller's private directories whose makers are gone (killed before
-- their teardown), removed. Only the caller's own: a directory of another
-- user's in /tmp (or a link they put there) is theirs to remove.
local function remove_orphans(note)
  local _, _, euid = core.ids()
  for _, name in ipairs(names_in("/tmp")) do
    local pid, started = name:match(PRIVATE_DIR)
    local dir = "/tmp/" .. name
    if pid and start_time(pid) ~= started and core.dir_owner(dir) == euid and remove_private_dir(dir) then
      note(("private directory %s of pid %s, which is gone"):format(dir, pid))
    end
  end
end

-- How long a helper may take to say it is ready (it takes milliseconds)
-- before it is killed and the sandbox refused.
local HELPER_READY_SECONDS = 10

-- slirp4netns's API (its --api-socket): add_hostfwd for each port, to the
-- address --configure gives the sandbox.
local function slirp_forward(n, socket)
  for i, p in ipairs(n.ports) do
    local request = ('{"execute": "add_hostfwd", "arguments": {"proto": "%s", "host_addr": "%s", '
      .. '"host_port": %d, "guest_port": %d}}'):format(p.proto, p.address or "0.0.0.0", p.host, p.sandbox)
    local reply, message = core.unix_request(socket, request)
    if not reply then return nil, message end
    if not reply:find('"return"', 1, true) then
      return nil, ("network.ports[%d]: slirp4netns: %s"):format(i, reply:match('"desc": *"([^"]*)"') or reply)
    end
  end
  return true
end

-- The API socket, with ports, is in a private directory of the sandbox's.
local function slirp4netns(n)
  local helper, exit_fd, dir
  local function down()
    if helper then core.helper_stop(helper, exit_fd) end
    if dir then remove_private_dir(dir) end
    helper, dir = nil, nil
  end
  local function up(pid)
    local argv = { "slirp4netns", "--configure", "--mtu=" .. n.mtu, "--exit-fd=3", "--ready-fd=4" }
    local ok, message = true, nil
    if n.ports then
      dir, message = private_dir()
      if not dir then return nil, "network (slirp4netns): " .. message end
      argv[#argv + 1] = "--api-socket=" .. dir .. "/api.sock"
    end
    argv[#argv + 1] = tostring(pid)
    argv[#argv + 1] = "tap0"
    helper, exit_fd = core.helper_start(argv, nil, HELPER_READY_SECONDS)
    if not helper then
      ok, message = false, exit_fd
    elseif n.ports then
      ok, message = slirp_forward(n, dir .. "/api.sock")
    end
    if ok then return true end
    down()
    return nil, "network (slirp4netns): " .. message
  end
  return up, down
end

-- pasta's port specs: -t and -u, each "none" when no port of its protocol is
-- forwarded (pasta's default, "auto", would publish whatever the sandbox listens on).
local function pasta_ports(n)
  local specs = { tcp = {}, udp = {} }
  for _, p in ipairs(n.ports or {}) do
    local list = specs[p.proto]
    list[#list + 1] = ("%s%d:%d"):format(p.address and (p.address .. "/") or "", p.host, p.sandbox)
  end
  local argv = {}
  for _, proto in ipairs { "tcp", "udp" } do
    argv[#argv + 1] = proto == "tcp" and "--tcp-ports" or "--udp-ports"
    argv[#argv + 1] = #specs[proto] > 0 and table.concat(specs[proto], ",") or "none"
  end
  return argv
end

-- pasta, told it is ready by the pid file it writes once set up (at fd 4,
-- core.helper_start's ready pipe), and stopped with SIGTERM; it has no exit
-- fd and outlives its namespace, so setpriv gives it SIGTERM when we die
-- too. Its own loopback ports stay its own (-T, -U none). pasta drops its
-- capabilities at start, after which it may not open the namespaces of a
-- root caller's sandbox: as root it gets the sandbox's network namespace
-- opened at fd 3, and keeps root (--runas 0) to enter it; anyone else names
-- the pid, whose user namespace pasta joins as slirp4netns does.
local function pasta(n)
  local helper, exit_fd
  local function down()
    if helper then core.helper_stop(helper, exit_fd, "terminate") end
    helper = nil
  end
  local function up(pid)
    local argv = { "setpriv", "--pdeathsig", "TERM", "--",
      "pasta", "--config-net", "--foreground", "--quiet", "--mtu", tostring(n.mtu),
      "--pid", "/proc/self/fd/4", "--tcp-ns", "none", "--udp-ns", "none", table.unpack(pasta_ports(n)) }
    local _, _, euid = core.ids()
    local namespace
    if euid == 0 then
      table.move({ "--runas", "0", "--netns", "/proc/self/fd/3" }, 1, 4, #argv + 1, argv)
      namespace = ("/proc/%d/ns/net"):format(pid)
    else
      argv[#argv + 1] = tostring(pid)
    end
    helper, exit_fd = core.helper_start(argv, namespace, HELPER_READY_SECONDS)
    if helper then return true end
    -- pasta also tells its log that the system logger is missing, before each line
    local why = exit_fd:gsub("^setpriv ", "pasta "):gsub("Failed to send %d+ bytes to syslog\n", "")
    return nil, "network (pasta): " .. why
  end
  return up, down
end

-- ---- dns: the sandbox's resolv.conf ----

-- One directory per recipe's dns while it is in use: [dns] = { dir =
-- path (made, and not yet removed) or nil, path = its resolv.conf, users =
-- how many live sandboxes use it }. A fresh private directory (0755, for
-- every user of the sandbox) is made when a plan binding it is compiled and
-- none is there, and removed after the last sandbox using it ends.
local RESOLV = setmetatable({}, { __mode = "k" })

local function resolv_of(dns)
  local s = RESOLV[dns]
  if not s then
    s = { users = 0 }
    RESOLV[dns] = s
  end
  return s
end

-- The directory of s: a new one unless it is there. A plan compiled once
-- and spawned again after its directory went gets the same name back, if
-- nobody took it meanwhile (exclusively: mkdir fails on anything there).
local function resolv_dir(s, fresh)
  if s.dir then return true end
  local dir, ok, message
  if fresh then
    dir, message = private_dir()
    if not dir then return nil, "network.dns: " .. message end
    ok = true
  else
    dir = s.path:match("^(.*)/")
    ok, message = core.mkdir(dir, 448)
  end
  if ok then ok, message = core.chmod(dir, 493) end
  if not ok then return nil, ("network.dns: %s: %s"):format(dir, message) end
  s.dir, s.path = dir, dir .. "/resolv.conf"
  return true
end

local function resolv_text(dns)
  local lines = { "# network.dns of an nsbox recipe" }
  for _, server in ipairs(dns.servers) do lines[#lines + 1] = "nameserver " .. server end
  if #dns.search > 0 then lines[#lines + 1] = "search " .. table.concat(dns.search, " ") end
  if #dns.options > 0 then lines[#lines + 1] = "options " .. table.concat(dns.options, " ") end
  return table.concat(lines, "\n") .. "\n"
end

-- Readable by every user of the sandbox (0644), whatever the caller's umask.
local function write_resolv(dns, path)
  local f, message = io.open(path, "w")
  local ok = f ~= nil
  if f then
    ok, message = f:write(resolv_text(dns))
    f:close()
  end
  if ok then ok, message = core.chmod(path, 420) end
  if not ok then return nil, "network.dns: " .. (f and (path .. ": ") or "") .. message end
  return true
end

-- up and down for the recipe's resolv.conf: written by the first of its sandboxes, removed after the last.
local function resolv(dns)
  local s, held = resolv_of(dns), false
  local function down() -- also after a failed spawn: then the directory its compile made goes too
    if held then s.users = s.users - 1 end
    held = false
    if s.users == 0 and s.dir then
      remove_private_dir(s.dir)
      s.dir = nil
    end
  end
  local function up()
    local ok, message = resolv_dir(s, false)
    if not ok then return nil, message end
    held = true
    s.users = s.users + 1
    if s.users > 1 then return true end
    return write_resolv(dns, s.path)
  end
  return up, down
end

-- The bind of the recipe's resolv.conf, for nsbox.rootfs to place after the
-- recipe's mounts (a tmpfs on /etc does not hide it) and before the switch of
-- root (its source is the caller's file); read-only, as the sandboxes of one
-- recipe share it. nil without network.dns; nil, message when its private
-- directory cannot be made.
function M.resolv_mount(r)
  local dns = r.network and r.network.dns
  if not dns then return nil end
  local s = resolv_of(dns)
  local ok, message = resolv_dir(s, true)
  if not ok then return nil, message end
  return { type = "bind", source = s.path, target = "/etc/resolv.conf", readonly = true, recursive = false }
end

-- After a crash: the leases of processes that are gone, and the bridges and
-- NAT tables only they used, removed in the caller's network namespace; and
-- the caller's private directories of processes that are gone. note(text)
-- is told each thing removed. true | nil, message.
function M.gc(note)
  remove_orphans(note)
  return locked(function()
    for bridge, path in pairs(state_files()) do
      local state = read_state(path)
      prune(state, note)
      drop_unused({ bridge = bridge }, state, note)
      write_state(path, state)
    end
    restore_forwarding() -- also when a crash left no lease file, only the forward file
    return true
  end, "existing only")
end

-- up(pid), only once pid has a network namespace of its own: never configure ours.
local function own_namespace_only(up)
  return function(pid)
    if core.nsid(pid, "net") == M.netns_id() then
      return nil, "network: the sandbox has no network namespace of its own to configure"
    end
    return up(pid)
  end
end

local MODE_SETUP = { veth = veth, slirp4netns = slirp4netns, pasta = pasta }

-- The up and down of two setups as one: the first up, then the second; down in reverse.
local function both(up1, down1, up2, down2)
  local function up(pid)
    local ok, message = up1(pid)
    if ok then ok, message = up2(pid) end
    return ok, message
  end
  return up, function() down2(); down1() end
end

-- For core.spawn: before_release(pid) sets up r's network for the waiting
-- child, after_exit() takes it down. nil when r has no network.
function M.attach(r)
  local n = r.network
  if not n then return nil end
  local up, down = (MODE_SETUP[n.mode])(n)
  if n.dns then up, down = both(up, down, resolv(n.dns)) end
  return own_namespace_only(up), down
end

return M
