-- nsbox.cgroups: the `cgroup` recipe key. The sandbox gets fresh cgroups
-- beneath the caller's own, one per hierarchy it needs, is placed in them
-- before its first instruction, and they are removed when it ends.
--
--   cgroup = { limits = { memory = "256m", pids = 64, cpu = 0.5, ... }, name = "build-1", best_effort = false }
--   cgroup = { join = PID }   -- the cgroups of PID instead, joined and left as they are
--
-- The host's layout is detected, not configured: unified (cgroup v2 only),
-- legacy (v1 only) or hybrid (v1 controllers beside a v2 hierarchy). A limit
-- goes to the v2 hierarchy when the caller's v2 cgroup delegates its
-- controller, to the controller's v1 hierarchy otherwise; a limit the host
-- cannot apply is refused before any fork (a warning with best_effort). The
-- v2 hierarchy, even without controllers, is used whenever the caller may
-- write there: clone3 puts the child straight into it, and cgroup.kill ends
-- whatever is left. File names and unit conversions follow crun.

local core = require "nsbox.core"
local check = require "nsbox.check"

local invalid = check.invalid

local M = {}

-- ---- values ----

local UNITS = { [""] = 1, k = 1 << 10, m = 1 << 20, g = 1 << 30, t = 1 << 40 }
local MAX_SIZE = 1 << 62

-- A size in bytes: an integer, or a string of digits with a k, m, g or t suffix (powers of 1024).
function M.size(value, where)
  local bytes = math.type(value) == "integer" and value or nil
  if type(value) == "string" then
    local digits, unit = value:lower():match("^(%d+)([kmgt]?)b?$")
    local n = digits and #digits <= 19 and math.tointeger(tonumber(digits))
    if n and n <= MAX_SIZE // UNITS[unit] then bytes = n * UNITS[unit] end
  end
  if not bytes or bytes < 0 or bytes > MAX_SIZE then
    invalid("'%s' must be a size in bytes: an integer or a string like \"256m\" (suffixes k, m, g, t), got %s",
      where, check.shown(value))
  end
  return bytes
end

-- 67108864 -> "64m": the largest unit that divides the size.
function M.format_size(bytes)
  for _, unit in ipairs { "t", "g", "m", "k" } do
    local n = UNITS[unit]
    if bytes >= n and bytes % n == 0 then return (bytes // n) .. unit end
  end
  return tostring(bytes)
end

local PERIOD = 100000 -- microseconds: the kernel's default CFS period

-- cpu = CPUs (0.5: half of one) or { quota = us, period = us }, as the kernel's cpu.max takes it.
function M.cpu(value, where)
  if type(value) == "number" then
    if value ~= value or value < 0.01 or value > 1024 then
      invalid("'%s' must be a number of CPUs from 0.01 to 1024, or { quota = ..., period = ... }; got %s", where,
        check.shown(value))
    end
    return { quota = math.floor(value * PERIOD + 0.5), period = PERIOD }
  end
  check.type(value, "table", where)
  check.known_keys(value, { quota = true, period = true }, where)
  local period = value.period == nil and PERIOD or check.integer(value.period, where .. ".period", 1000, 1000000,
    "microseconds")
  -- Without a quota, only the period is set: the quota stays unlimited.
  local quota = value.quota ~= nil and check.integer(value.quota, where .. ".quota", 1000, 1 << 40, "microseconds")
  return { period = period, quota = quota or nil }
end

local function online_cpus()
  local f = io.open("/sys/devices/system/cpu/online")
  local text = f and f:read("l")
  if f then f:close() end
  return text
end

-- "0-1,4": the list cpuset.cpus and cpuset.mems take; the highest number in it.
function M.cpu_list(value, where)
  check.text(value, where)
  local highest
  for item in (value .. ","):gmatch("([^,]*),") do
    local first, last = item:match("^(%d+)%-(%d+)$")
    first = first or item:match("^%d+$")
    last = last or first
    if not first or #first > 6 or #last > 6 or tonumber(first) > tonumber(last) then
      invalid("'%s' must be a list of numbers and ranges like \"0-1,4\", got %s", where, check.shown(value))
    end
    highest = math.max(highest or 0, tonumber(last))
  end
  return value, highest
end

local function cpuset(value, where)
  local _, highest = M.cpu_list(value, where)
  local online = online_cpus()
  local last = online and tonumber(online:match("(%d+)$"))
  if last and highest > last then
    invalid("'%s': CPU %d is not on this host (online: %s)", where, highest, online)
  end
  return value
end

local IO_KEYS = { rbps = true, wbps = true, riops = true, wiops = true }

-- io_max = { ["8:0"] = { rbps = ..., wbps = ..., riops = ..., wiops = ... } }
local function io_max(value, where)
  check.type(value, "table", where)
  local out = {}
  for device, limits in pairs(value) do
    local at = check.key_path(where, device)
    if type(device) ~= "string" or not device:match("^%d+:%d+$") then
      invalid("'%s': devices are \"MAJOR:MINOR\" strings like \"8:0\", got %s", where, check.shown(device))
    end
    check.type(limits, "table", at)
    check.known_keys(limits, IO_KEYS, at)
    local entry = { device = device }
    for key in pairs(limits) do entry[key] = check.integer(limits[key], at .. "." .. key, 1, MAX_SIZE) end
    out[#out + 1] = entry
  end
  table.sort(out, function(a, b) return a.device < b.device end)
  return out
end

-- crun's conversions between v1 and v2 weights, and their inverses for v2 weights on v1.
function M.shares_to_weight(shares) return 1 + ((shares - 2) * 9999) // 262142 end
function M.weight_to_shares(weight) return 2 + ((weight - 1) * 262142) // 9999 end
function M.blkio_to_io_weight(weight) return 1 + ((weight - 10) * 9999) // 990 end
function M.io_to_blkio_weight(weight) return 10 + ((weight - 1) * 990) // 9999 end

local function weight(value, where) return check.integer(value, where, 1, 10000, "a weight") end
local function shares(value, where) return check.integer(value, where, 2, 262144, "cgroup v1 CPU shares") end
local function blkio_weight(value, where) return check.integer(value, where, 10, 1000, "a cgroup v1 blkio weight") end
local function pids(value, where) return check.integer(value, where, 1, 4194304, "a number of processes") end

-- hugetlb = { ["2MB"] = bytes, ... }: page sizes as the kernel names its hugetlb.<size>.* files.
local function hugetlb(value, where)
  check.type(value, "table", where)
  local out = {}
  for size, bytes in pairs(value) do
    if type(size) ~= "string" or not size:match("^%d+[KMG]B$") then
      invalid("'%s': page sizes are strings like \"2MB\" or \"1GB\", got %s", where, check.shown(size))
    end
    out[#out + 1] = { size = size, bytes = M.size(bytes, check.key_path(where, size)) }
  end
  table.sort(out, function(a, b) return a.size < b.size end)
  return out
end

-- devices = { "deny a", "allow c 1:3 rwm", "allow c *:* m", ... }: the v1 devices controller's rules,
-- applied in order to a cgroup that starts allowing what its parent allows.
local function device_rules(value, where)
  for i, rule in ipairs(check.string_list(value, where)) do
    local verb, kind, major, minor, access = rule:match("^(%a+) ([abc]) ([%d*]+):([%d*]+) ([rwm]+)$")
    if not verb then verb, kind = rule:match("^(%a+) (a)$") end
    local number = "^%d%d?%d?%d?%d?%d?%d?$"
    if not (verb == "allow" or verb == "deny") or kind == "a" and major
      or major and not ((major == "*" or major:match(number)) and (minor == "*" or minor:match(number))) then
      invalid("'%s[%d]' must be a rule like \"allow c 1:3 rwm\" or \"deny a\" (allow|deny, type a|b|c, "
        .. "MAJOR:MINOR or *, access of r, w, m), got %s", where, i, check.shown(rule))
    end
    if access and (#access > 3 or access:match("(.).*%1")) then
      invalid("'%s[%d]': access repeats a letter, got %s", where, i, check.shown(rule))
    end
  end
  return value
end

local function io_lines(entries, v1)
  local files = {}
  for _, e in ipairs(entries) do
    if v1 then
      for key, file in pairs { rbps = "read_bps", wbps = "write_bps", riops = "read_iops", wiops = "write_iops" } do
        if e[key] then files[#files + 1] = { "blkio.throttle." .. file .. "_device", e.device .. " " .. e[key] } end
      end
    else
      local words = { e.device }
      for _, key in ipairs { "rbps", "wbps", "riops", "wiops" } do
        if e[key] then words[#words + 1] = key .. "=" .. e[key] end
      end
      files[#files + 1] = { "io.max", table.concat(words, " ") }
    end
  end
  table.sort(files, function(a, b) return a[1] .. a[2] < b[1] .. b[2] end)
  return files
end

-- Every limit, in the order its files are written (memory before memory_swap,
-- the period before the quota), with its controller on v2 and v1 and the
-- files it becomes on each; v1 = nil: v1 has no such limit.
M.LIMITS = {
  { key = "memory", v2 = "memory", v1 = "memory", check = M.size,
    files = function(b, v1) return { { v1 and "memory.limit_in_bytes" or "memory.max", b } } end },
  { key = "memory_reservation", v2 = "memory", v1 = "memory", check = M.size,
    files = function(b, v1) return { { v1 and "memory.soft_limit_in_bytes" or "memory.low", b } } end },
  { key = "memory_high", v2 = "memory", check = M.size,
    files = function(b) return { { "memory.high", b } } end },
  { key = "memory_swap", v2 = "memory", v1 = "memory", check = M.size,
    -- The recipe's (and OCI's) value is memory plus swap; v2's file holds the swap alone.
    files = function(b, v1, limits)
      if v1 then return { { "memory.memsw.limit_in_bytes", b } } end
      return { { "memory.swap.max", b - limits.memory } }
    end },
  { key = "pids", v2 = "pids", v1 = "pids", check = pids,
    files = function(n) return { { "pids.max", n } } end },
  { key = "cpu", v2 = "cpu", v1 = "cpu", check = M.cpu,
    files = function(c, v1)
      if v1 then return { { "cpu.cfs_period_us", c.period }, c.quota and { "cpu.cfs_quota_us", c.quota } } end
      return { { "cpu.max", (c.quota or "max") .. " " .. c.period } }
    end },
  { key = "cpu_weight", v2 = "cpu", v1 = "cpu", check = weight,
    files = function(w, v1) return { v1 and { "cpu.shares", M.weight_to_shares(w) } or { "cpu.weight", w } } end },
  { key = "cpu_shares", v2 = "cpu", v1 = "cpu", check = shares,
    files = function(n, v1) return { v1 and { "cpu.shares", n } or { "cpu.weight", M.shares_to_weight(n) } } end },
  { key = "cpuset", v2 = "cpuset", v1 = "cpuset", check = cpuset,
    files = function(list) return { { "cpuset.cpus", list } } end },
  { key = "cpuset_mems", v2 = "cpuset", v1 = "cpuset", check = function(v, w) return (M.cpu_list(v, w)) end,
    files = function(list) return { { "cpuset.mems", list } } end },
  { key = "io_weight", v2 = "io", v1 = "blkio", check = weight,
    files = function(w, v1)
      return { v1 and { "blkio.bfq.weight", M.io_to_blkio_weight(w) } or { "io.weight", "default " .. w } }
    end },
  { key = "blkio_weight", v2 = "io", v1 = "blkio", check = blkio_weight,
    files = function(w, v1)
      return { v1 and { "blkio.bfq.weight", w } or { "io.weight", "default " .. M.blkio_to_io_weight(w) } }
    end },
  { key = "io_max", v2 = "io", v1 = "blkio", check = io_max,
    files = function(entries, v1) return io_lines(entries, v1) end },
  { key = "hugetlb", v2 = "hugetlb", v1 = "hugetlb", check = hugetlb,
    files = function(pages, v1)
      local files = {}
      for i, p in ipairs(pages) do
        files[i] = { "hugetlb." .. p.size .. (v1 and ".limit_in_bytes" or ".max"), p.bytes }
      end
      return files
    end },
  -- cgroup v2 has no devices controller: an eBPF program attached to the cgroup does its work.
  { key = "devices", v1 = "devices", v2_lacks = "cgroup v2 controls devices with an eBPF program, which nsbox "
      .. "does not load", check = device_rules,
    files = function(rules)
      local files = {}
      for i, rule in ipairs(rules) do
        local verb, rest = rule:match("^(%a+) (.*)$")
        files[i] = { "devices." .. verb, rest }
      end
      return files
    end },
}
local LIMIT_KEYS = {}
for _, l in ipairs(M.LIMITS) do LIMIT_KEYS[l.key] = true end

local function check_limits(limits)
  check.type(limits, "table", "cgroup.limits")
  check.known_keys(limits, LIMIT_KEYS, "cgroup.limits")
  local out = {}
  for _, l in ipairs(M.LIMITS) do
    if limits[l.key] ~= nil then out[l.key] = l.check(limits[l.key], "cgroup.limits." .. l.key) end
  end
  for _, pair in ipairs { { "cpu_weight", "cpu_shares" }, { "io_weight", "blkio_weight" } } do
    if out[pair[1]] and out[pair[2]] then
      invalid("'cgroup.limits': %s and %s are two scales of one weight: give one", pair[1], pair[2])
    end
  end
  if out.memory_swap then
    if not out.memory then invalid("'cgroup.limits.memory_swap' (memory plus swap) needs 'cgroup.limits.memory'") end
    if out.memory_swap < out.memory then
      invalid("'cgroup.limits.memory_swap' is memory plus swap: it must be at least 'cgroup.limits.memory' (%s), "
        .. "got %s",
        M.format_size(out.memory), M.format_size(out.memory_swap))
    end
  end
  return out
end

-- ---- the host's layout ----

local function unescape(path) return (path:gsub("\\(%d%d%d)", function(o) return string.char(tonumber(o, 8)) end)) end

-- /proc/self/mountinfo text -> the cgroup hierarchies mounted: { version, mount, root, controllers = set }
function M.parse_mounts(mountinfo)
  local out = {}
  for line in mountinfo:gmatch("[^\n]+") do
    local root, mount = line:match("^%S+ %S+ %S+ (%S+) (%S+)")
    local fstype, options = line:match(" %- (%S+) %S+ (%S+)$")
    if fstype == "cgroup2" then
      out[#out + 1] = { version = 2, mount = unescape(mount), root = unescape(root), controllers = {} }
    elseif fstype == "cgroup" then
      local controllers = {}
      for word in options:gmatch("[^,]+") do
        if not word:find("=") and word ~= "rw" and word ~= "ro" then controllers[word] = true end
      end
      out[#out + 1] = { version = 1, mount = unescape(mount), root = unescape(root), controllers = controllers }
    end
  end
  return out
end

-- /proc/self/cgroup text -> { v2 = "/path", v1 = { memory = "/path", cpu = ... } }
function M.parse_membership(text)
  local out = { v1 = {} }
  for id, list, path in text:gmatch("(%d+):([^:\n]*):([^\n]*)") do
    if id == "0" and list == "" then
      out.v2 = path
    else
      for name in list:gmatch("[^,]+") do out.v1[name] = path end
    end
  end
  return out
end

-- Where the caller's cgroup of a hierarchy is in our mount namespace: nil when its mount does not show it.
local function own_dir(h, path)
  if not path then return nil end
  if h.root ~= "/" then
    if path:sub(1, #h.root) ~= h.root then return nil end
    path = path:sub(#h.root + 1)
  end
  return (h.mount .. path):gsub("/+$", "")
end

local function words(text)
  local set = {}
  for word in (text or ""):gmatch("%S+") do set[word] = true end
  return set
end

-- The layout: { kind = "unified"|"legacy"|"hybrid", v2 = hierarchy, v1 = { [controller] = hierarchy } }, each
-- hierarchy with the caller's cgroup as dir; a v2 one with the controllers that cgroup delegates.
-- read(path) -> text or nil reads the caller's cgroup.subtree_control (a table in specs).
function M.layout(mountinfo, membership, read)
  local member = M.parse_membership(membership)
  local layout = { v1 = {} }
  for _, h in ipairs(M.parse_mounts(mountinfo)) do
    if h.version == 2 and not layout.v2 then
      h.dir = own_dir(h, member.v2)
      if h.dir then
        h.controllers = words(read(h.dir .. "/cgroup.subtree_control"))
        h.available = words(read(h.dir .. "/cgroup.controllers"))
        layout.v2 = h
      end
    elseif h.version == 1 then
      local name = next(h.controllers)
      h.dir = name and own_dir(h, member.v1[name])
      if h.dir then
        for controller in pairs(h.controllers) do layout.v1[controller] = layout.v1[controller] or h end
      end
    end
  end
  local has_v1 = next(layout.v1) ~= nil
  layout.kind = layout.v2 and (has_v1 and "hybrid" or "unified") or (has_v1 and "legacy" or "none")
  return layout
end

local slurp = require("nsbox.files").read

local host_layout
function M.host()
  host_layout = host_layout or M.layout(slurp("/proc/self/mountinfo") or "", slurp("/proc/self/cgroup") or "", slurp)
  return host_layout
end

-- "cgroup v2 (/sys/fs/cgroup/unified) delegating no controller; v1: blkio, cpu, ..."
function M.describe(layout)
  local parts = {}
  if layout.v2 then
    local names = check.sorted_names(layout.v2.controllers)
    parts[#parts + 1] = ("cgroup v2 at %s delegating %s"):format(layout.v2.dir,
      #names > 0 and table.concat(names, ", ") or "no controller")
  end
  local v1 = check.sorted_names(layout.v1)
  if #v1 > 0 then parts[#parts + 1] = "cgroup v1 controllers " .. table.concat(v1, ", ") end
  return #parts > 0 and table.concat(parts, "; ") or "no cgroup hierarchy mounted"
end

-- Whether the caller may make a cgroup in any hierarchy (else a recipe with the cgroup key is refused).
function M.possible()
  local layout = M.host()
  if layout.v2 and core.cgroup_writable(layout.v2.dir) then return true end
  for _, h in pairs(layout.v1) do
    if core.cgroup_writable(h.dir) then return true end
  end
  return false
end

-- Whether an absolute cgroup.path lies beneath the caller's cgroup in every hierarchy the caller may write.
function M.beneath_caller(path)
  local layout = M.host()
  local all = { layout.v2 }
  for _, h in pairs(layout.v1) do all[#all + 1] = h end
  for _, h in pairs(all) do
    if core.cgroup_writable(h.dir) and (h.mount .. path):sub(1, #h.dir + 1) ~= h.dir .. "/" then return false end
  end
  return true
end

-- ---- validation: which cgroups to make, and what to write in them ----

local function not_writable(dir)
  local uid = core.ids()
  return ("the caller (uid %d) may not create cgroups beneath its own cgroup %s; limits without root need a "
    .. "cgroup v2 subtree delegated to the caller (e.g. systemd-run --user --scope -p Delegate=yes)"):format(uid, dir)
end

-- The hierarchy a limit goes to and its version, or nil and why not.
local function hierarchy_for(layout, l)
  if l.v2 and layout.v2 and layout.v2.controllers[l.v2] then return layout.v2, 2 end
  if l.v1 and layout.v1[l.v1] then return layout.v1[l.v1], 1 end
  if not l.v2 then
    return nil, ("%s need cgroup v1's %s controller (%s); this host has %s"):format(l.key, l.v1, l.v2_lacks,
      M.describe(layout))
  end
  if layout.v2 and layout.v2.available[l.v2] then
    return nil, ("the %s controller is not delegated by the caller's cgroup v2 %s (enable it in its parent's "
      .. "cgroup.subtree_control)"):format(l.v2, layout.v2.dir)
  end
  if not l.v1 and layout.v1[l.v2] then
    return nil, ("cgroup v1's %s controller has no %s (it needs cgroup v2); this host has %s"):format(l.v2, l.key,
      M.describe(layout))
  end
  return nil, ("this host has no %s controller: %s"):format(l.v2, M.describe(layout))
end

-- Whether this host lets the caller apply cgroup.limits.devices: true, or false and why not.
function M.devices_possible()
  local layout = M.host()
  for _, l in ipairs(M.LIMITS) do
    if l.key == "devices" then
      local h, version = hierarchy_for(layout, l)
      local why = not h and version or not core.cgroup_writable(h.dir) and not_writable(h.dir) or nil
      return why == nil, why
    end
  end
end

-- v1 controllers made beside those the limits need, where the caller may write: for usage
-- figures, and (without a v2 cgroup to cgroup.kill) a freezer to stop what is left before killing it.
local EXTRAS = { "memory", "pids" }
local EXTRAS_WITHOUT_V2 = { "memory", "pids", "cpuacct", "freezer" }

-- The v2 core files a cgroup.unified entry may set; the others belong to nsbox (cgroup.procs, cgroup.kill, ...).
local UNIFIED_CORE = { ["cgroup.max.depth"] = true, ["cgroup.max.descendants"] = true }

-- Where a cgroup.unified file goes: the caller's v2 cgroup, when it delegates the file's controller.
local function unified_hierarchy(layout, file)
  local controller = file:match("^([%w_]+)%.")
  if layout.v2 and (UNIFIED_CORE[file] or layout.v2.controllers[controller]) then return layout.v2, 2 end
  if not layout.v2 then return nil, "cgroup.unified files need cgroup v2; this host has " .. M.describe(layout) end
  return nil, ("the caller's cgroup v2 %s delegates no %s controller; this host has %s"):format(layout.v2.dir,
    controller, M.describe(layout))
end

local MAX_DEPTH = 6 -- levels beneath the caller's cgroup: a sandbox has at most 64 directories (csrc/cgroup.c)

-- The part of path (the recipe's cgroup.path) beneath the caller's cgroup of hierarchy c: the same for a
-- relative path; for an absolute one (from the hierarchy's root) only where it is beneath the caller's cgroup.
local function beneath(c, path)
  local below = path
  if path:sub(1, 1) == "/" then
    local full = c.mount .. path
    if full:sub(1, #c.dir + 1) ~= c.dir .. "/" then
      invalid("'cgroup.path' %s is not beneath the caller's own cgroup %s: nsbox makes cgroups only beneath the "
        .. "caller's (give a relative path, or an absolute one beneath it)", check.shown(path), c.dir)
    end
    below = full:sub(#c.dir + 2)
  end
  local _, depth = below:gsub("[^/]+", "")
  if depth > MAX_DEPTH then
    invalid("'cgroup.path' %s is %d levels beneath the caller's cgroup %s; nsbox makes at most %d",
      check.shown(path), depth, c.dir, MAX_DEPTH)
  end
  return below
end

-- The cgroups to make, v2 first (the one clone3 uses and cgroup.kill empties):
-- { { dir = caller's cgroup, version, below = path beneath dir or nil (the name, chosen at spawn),
--     writes = { { recipe key, file, value }, ... } } }
-- more: { unified = { { file, value }, ... }, path = cgroup.path, every_hierarchy = true }, all optional.
function M.placement(layout, limits, best_effort, writable, warn, more)
  more = more or {}
  local by_dir, order = {}, {}
  local function use(h, version)
    if not by_dir[h.dir] then
      by_dir[h.dir] = { dir = h.dir, mount = h.mount, version = version, writes = {} }
      order[#order + 1] = by_dir[h.dir]
    end
    return by_dir[h.dir]
  end
  -- Files of key into the hierarchy h (or why not, the reason in version).
  local function apply(key, h, version, files)
    local why = h and not writable(h.dir) and not_writable(h.dir) or not h and version
    if why and not best_effort then invalid("'%s': %s", key, why) end
    if why then return warn(("'%s' not applied (best_effort): %s"):format(key, why)) end
    local c = use(h, version)
    for _, f in ipairs(files(version == 1)) do c.writes[#c.writes + 1] = { key, f[1], f[2] } end
  end
  local v2 = layout.v2 and writable(layout.v2.dir) and use(layout.v2, 2)
  for _, l in ipairs(M.LIMITS) do
    local value = limits[l.key]
    if value ~= nil then
      local h, version = hierarchy_for(layout, l)
      apply("cgroup.limits." .. l.key, h, version, function(v1) return l.files(value, v1, limits) end)
    end
  end
  for _, u in ipairs(more.unified or {}) do
    local h, version = unified_hierarchy(layout, u[1])
    apply(check.key_path("cgroup.unified", u[1]), h, version, function() return { u } end)
  end
  for _, name in ipairs(v2 and EXTRAS or EXTRAS_WITHOUT_V2) do
    local h = layout.v1[name]
    if h and writable(h.dir) then use(h, 1) end
  end
  if more.every_hierarchy then
    for _, name in ipairs(check.sorted_names(layout.v1)) do
      local h = layout.v1[name]
      if writable(h.dir) then use(h, 1) end
    end
  end
  if #order == 0 then
    local dirs = {}
    for _, h in pairs(layout.v1) do dirs[#dirs + 1] = h.dir end
    if layout.v2 then dirs[#dirs + 1] = layout.v2.dir end
    if #dirs == 0 then invalid("'cgroup': %s", M.describe(layout)) end
    table.sort(dirs)
    invalid("'cgroup': %s", not_writable(dirs[1]))
  end
  table.sort(order, function(a, b)
    if a.version ~= b.version then return a.version > b.version end
    return a.dir < b.dir
  end)
  for _, c in ipairs(order) do c.below = more.path and beneath(c, more.path) end
  return order
end

local function warn(message) io.stderr:write("nsbox: warning: ", message, "\n") end

local function check_name(name)
  check.text(name, "cgroup.name")
  if not name:match("^[%w_][%w._-]*$") or #name > 200 then
    invalid("'cgroup.name' must be one directory name of letters, digits, '.', '_' and '-' (made beneath the "
      .. "caller's own cgroup), got %s", check.shown(name))
  end
end

-- A relative path (beneath the caller's cgroup) or an absolute one (from the hierarchy's root, and beneath
-- the caller's cgroup too): directories of letters, digits and . _ - @ + :, the last one made new.
local function check_path(path)
  check.text(path, "cgroup.path")
  for part in path:gsub("^/", ""):gmatch("([^/]*)/?") do
    if part == "" and path:match("//") or part == "." or part == ".." or not part:match("^[%w._@+:-]*$")
      or #part > 200 then
      invalid("'cgroup.path' must be a path of directory names of letters, digits, '.', '_', '-', '@', '+' and ':' "
        .. "(no '.' or '..'), got %s", check.shown(path))
    end
  end
  if path == "" or path == "/" or path:sub(-1) == "/" then
    invalid("'cgroup.path' must name a directory to make, got %s", check.shown(path))
  end
  return path
end

-- cgroup.unified = { ["memory.high"] = "50m", ... }: cgroup v2 files written as given, after the limits.
local function check_unified(map)
  check.type(map, "table", "cgroup.unified")
  local out = {}
  for _, file in ipairs(check.sorted_names(map)) do
    local where = check.key_path("cgroup.unified", file)
    if type(file) ~= "string" or not file:match("^[%a_][%w_]*%.[%w_.]+$") or file:match("^cgroup%.")
      and not UNIFIED_CORE[file] then
      invalid("'%s': a cgroup v2 file of a controller like \"memory.high\" (or cgroup.max.depth, "
        .. "cgroup.max.descendants), got %s", where, check.shown(file))
    end
    local value = map[file]
    if math.type(value) == "integer" then value = tostring(value) end
    out[#out + 1] = { file, check.text(value, where) }
  end
  return out
end

-- cgroup = { join = PID }: where PID is in each hierarchy, as { [hierarchy's mount] = PID's cgroup } (those
-- that differ from the caller's and that the caller may write), read when the recipe is built, as join's
-- namespaces are.
local function joined(pid)
  local member = M.parse_membership(slurp(("/proc/%d/cgroup"):format(pid)) or
    invalid("'cgroup.join': no process %d", pid))
  local layout, at = M.host(), {}
  local function add(h, path)
    local dir = own_dir(h, path)
    if dir and dir ~= h.dir and core.cgroup_writable(dir) then at[h.mount] = dir end
  end
  if layout.v2 then add(layout.v2, member.v2) end
  for name, h in pairs(layout.v1) do add(h, member.v1[name]) end
  return { join = pid, at = at }
end

local KEYS = { limits = true, name = true, path = true, unified = true, best_effort = true, every_hierarchy = true,
  join = true }

function M.validate(t, r)
  if t.cgroup == nil then return end
  local c = check.type(t.cgroup, "table", "cgroup")
  check.known_keys(c, KEYS, "cgroup")
  if c.join ~= nil then
    if next(c, next(c)) ~= nil then invalid("'cgroup.join' joins a process's cgroups: it takes no other cgroup key") end
    r.cgroup = joined(check.integer(c.join, "cgroup.join", 1, 0x7fffffff, "a pid"))
    return
  end
  if c.name ~= nil then check_name(c.name) end
  if c.path ~= nil then check_path(c.path) end
  if c.name ~= nil and c.path ~= nil then invalid("'cgroup.name' and 'cgroup.path' both name the cgroup: give one") end
  local limits = check_limits(c.limits or {})
  local more = { unified = c.unified ~= nil and check_unified(c.unified) or nil, path = c.path,
    every_hierarchy = check.boolean(c, "every_hierarchy", "cgroup.every_hierarchy") }
  local best_effort = check.boolean(c, "best_effort", "cgroup.best_effort")
  r.cgroup = { name = c.name, path = c.path, limits = limits, unified = more.unified,
    cgroups = M.placement(M.host(), limits, best_effort, core.cgroup_writable, warn, more) }
end

-- With a cgroup namespace, the child unshares it once placed, so that it is
-- rooted at the sandbox's cgroups (clone would root it at the caller's).
function M.compile(r, plan, add)
  if not r.cgroup then return end
  local kept, moved = {}, false
  for _, name in ipairs(plan.namespaces) do
    if name == "cgroup" then moved = true else kept[#kept + 1] = name end
  end
  if moved then
    plan.namespaces = kept
    add { op = "unshare", types = { "cgroup" }, desc = "create the cgroup namespace, rooted at the sandbox's cgroup" }
  end
end

-- ---- at spawn: the cgroups made, filled with limits, and removed at the end ----

local Cgroup = { __name = "nsbox.cgroup" }
Cgroup.__index = Cgroup

local function write_file(path, value)
  local f, message, errno = io.open(path, "w")
  if not f then return nil, message, errno end
  local ok
  ok, message, errno = f:write(tostring(value))
  if ok then ok, message, errno = f:close() else f:close() end
  return ok, message, errno
end

local caller_pid
local made = 0

local function default_name()
  caller_pid = caller_pid or tonumber(slurp("/proc/self/stat"):match("^%d+"))
  made = made + 1
  return ("nsbox-%d-%d"):format(caller_pid, made)
end

-- v1 cpuset cgroups start with no CPU and no memory node: their parent's, unless the limits chose.
local function cpuset_defaults(c, path, writes)
  if c.version ~= 1 or not slurp(path .. "/cpuset.cpus") then return {} end
  local chosen, defaults = {}, {}
  for _, w in ipairs(writes) do chosen[w[2]] = true end
  for _, file in ipairs { "cpuset.mems", "cpuset.cpus" } do
    if not chosen[file] then
      local parent = path:match("^(.*)/")
      defaults[#defaults + 1] = { "cgroup.limits.cpuset", file, (slurp(parent .. "/" .. file) or ""):match("%S*") }
    end
  end
  return defaults
end

local function fill(c, path, writes)
  for _, list in ipairs { cpuset_defaults(c, path, writes), writes } do
    for _, w in ipairs(list) do
      local ok, message, errno = write_file(path .. "/" .. w[2], w[3])
      if not ok then return nil, ("'%s': %s"):format(w[1], message), errno end
    end
  end
  return true
end

-- c's cgroup at c.dir/below made and filled, with the parents the path needs: those made new are
-- recorded (deepest first) to be removed after it; an existing one is someone else's, and stays.
-- An existing cgroup itself is someone else's too: mkdir's EEXIST.
function Cgroup:make(c, below)
  local path = c.dir
  for part, more in below:gmatch("([^/]+)(/?)") do
    path = path .. "/" .. part
    if more == "" or not slurp(path .. "/cgroup.procs") then
      local ok, message, errno = core.cgroup_mkdir(path)
      if ok and more ~= "" then
        table.insert(self.parents, 1, path)
        ok, message, errno = fill(c, path, {})
      end
      if not ok then return nil, message, errno end
    end
  end
  self.dirs[#self.dirs + 1] = path
  self.at[c.mount] = path
  if c.version == 2 then self.into = path else self.procs[#self.procs + 1] = path .. "/cgroup.procs" end
  return fill(c, path, c.writes)
end

-- Cgroups made earlier, { [hierarchy's mount] = dir } as :record() keeps them (or a process's, to
-- join): a Cgroup again, for core.spawn to place a child in (v2's first) or to be removed.
local function adopted(at, parents)
  local v2 = M.host().v2
  local cg = setmetatable({ dirs = {}, parents = parents or {}, procs = {}, at = at, limits = {} }, Cgroup)
  for _, base in ipairs(check.sorted_names(at)) do
    if v2 and base == v2.mount then
      cg.into = at[base]
      table.insert(cg.dirs, 1, at[base])
    else
      cg.dirs[#cg.dirs + 1] = at[base]
      cg.procs[#cg.procs + 1] = at[base] .. "/cgroup.procs"
    end
  end
  return cg
end

function M.adopt(record)
  return adopted(record.at, record.parents)
end

-- What a Cgroup is on disk, for M.adopt: its cgroups and the parents made for them.
function Cgroup:record()
  return { at = self.at, parents = self.parents }
end

-- The recipe's cgroups made and filled: a Cgroup for core.spawn, or nil, message, errno (nothing left made).
function M.create(r)
  if r.cgroup.join then
    local cg = adopted(r.cgroup.at)
    cg.joined = true -- someone else's: left as they are when the child ends
    return cg
  end
  local name = not r.cgroup.path and (r.cgroup.name or default_name())
  local cg = setmetatable({ dirs = {}, parents = {}, procs = {}, at = {}, limits = r.cgroup.limits }, Cgroup)
  for _, c in ipairs(r.cgroup.cgroups) do
    local ok, message, errno = cg:make(c, c.below or name)
    if not ok then
      cg:remove()
      return nil, message, errno
    end
  end
  if r.die_with_parent then
    local fd, message, errno = core.cgroup_watch(cg.dirs, cg.parents)
    if not fd then cg:remove(); return nil, message, errno end
    cg.watch_fd = fd
  end
  return cg
end

-- The cgroups killed and removed, then the parents made for them where empty (rmdir fails on a parent that
-- has gained someone else's cgroup meanwhile: it is theirs now, and stays); the watcher told it is over.
function Cgroup:remove()
  local ok, message, errno = core.cgroup_remove(self.dirs)
  if ok then
    for _, dir in ipairs(self.parents) do os.remove(dir) end
  end
  if self.watch_fd then core.cgroup_unwatch(self.watch_fd) end
  self.watch_fd = nil
  return ok, message, errno
end

local function number_in(text, pattern)
  return text and math.tointeger(tonumber(text:match(pattern)))
end

-- Usage as the host's files tell it; each figure from the first cgroup that has it.
function Cgroup:read_usage()
  local u = {}
  for _, dir in ipairs(self.dirs) do
    local function read(file, pattern) return number_in(slurp(dir .. "/" .. file), pattern or "^%s*(%d+)") end
    u.cpu_usec = u.cpu_usec or read("cpu.stat", "usage_usec (%d+)")
      or (read("cpuacct.usage") and read("cpuacct.usage") // 1000)
    u.memory_peak = u.memory_peak or read("memory.peak") or read("memory.max_usage_in_bytes")
    u.pids_peak = u.pids_peak or read("pids.peak")
    u.oom_kills = u.oom_kills or read("memory.events", "oom_kill (%d+)") or read("memory.oom_control", "oom_kill (%d+)")
  end
  u.memory_limit = self.limits.memory
  return u
end

-- The sandbox ended (how, code as wait tells it): usage read, leftovers killed, cgroups removed.
-- Returns the reason for the end: "oom" when the memory limit's OOM killer ended the command.
function Cgroup:finish(how, code)
  if not self.usage and not self.joined then
    self.usage = self:read_usage()
    if how == "signal" and code == 9 and (self.usage.oom_kills or 0) > 0 then self.reason = "oom" end
    local ok, message = self:remove()
    if not ok then warn(message .. " (left behind)") end
  end
  return self.reason
end

-- Usage so far, or at the end: { cpu_usec, memory_peak, pids_peak, oom_kills, memory_limit }, where the host has them.
function Cgroup:stats()
  local u = self.usage or self:read_usage()
  local copy = {}
  for k, v in pairs(u) do copy[k] = v end
  return copy
end

-- ---- an OCI runtime's verbs on cgroups made earlier (M.adopt) ----

-- The pids in the cgroups (the v2 one's, else the first's), or nil when they are gone.
function Cgroup:pids()
  local text = self.dirs[1] and slurp(self.dirs[1] .. "/cgroup.procs")
  if not text then return nil end
  local list = {}
  for pid in text:gmatch("%d+") do list[#list + 1] = math.tointeger(tonumber(pid)) end
  return list
end

-- The freezer: cgroup.freeze on v2, else the v1 freezer's cgroup; its file and what to write there.
function Cgroup:freezer(frozen)
  if self.into then return self.into .. "/cgroup.freeze", frozen and "1" or "0" end
  for _, dir in ipairs(self.dirs) do
    if slurp(dir .. "/freezer.state") then return dir .. "/freezer.state", frozen and "FROZEN" or "THAWED" end
  end
  return nil, "the container has no freezer cgroup: " .. M.describe(M.host())
end

-- Freeze (true) or thaw (false) every process in the cgroups: true | nil, message, errno.
function Cgroup:freeze(frozen)
  local file, value = self:freezer(frozen)
  if not file then return nil, value end
  return write_file(file, value)
end

-- Whether the cgroups are frozen, or on their way (v1's FREEZING).
function Cgroup:frozen()
  local file, value = self:freezer(true)
  local now = file and slurp(file)
  return now ~= nil and (now:match("^%s*(%S*)") == value or now:match("^FREEZING") ~= nil)
end

-- New limits, the cgroup key's { limits = ..., unified = ... }, written where create's went:
-- true | nil, message, errno; one the cgroups cannot take is refused (check.Invalid) before any is written.
function Cgroup:update(t)
  local r = {}
  M.validate({ cgroup = t }, r)
  for _, c in ipairs(r.cgroup.cgroups) do
    if #c.writes > 0 and not self.at[c.mount] then
      invalid("'%s': the container has no cgroup in %s (create made none there)", c.writes[1][1], c.mount)
    end
  end
  for _, c in ipairs(r.cgroup.cgroups) do
    for _, w in ipairs(c.writes) do
      local ok, message, errno = write_file(self.at[c.mount] .. "/" .. w[2], w[3])
      if not ok then return nil, ("'%s': %s"):format(w[1], message), errno end
    end
  end
  return true
end

-- What the recipe scripts print for an end with reason.
function M.explain(reason, stats)
  if reason ~= "oom" then return nil end
  local limit = stats and stats.memory_limit
  return "killed by the out-of-memory killer" .. (limit and (" (memory limit " .. M.format_size(limit) .. ")") or "")
end

return M
