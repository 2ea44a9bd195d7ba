-- The fuzzer: seeded, bounded, for nsbox.recipe, nsbox.compile, nsbox.spawn
-- and nsbox.oci. Each case starts from a valid recipe or config.json and
-- mutates it: values of every type and size, NUL bytes, hostile metatables,
-- cycles, long lists, broken JSON texts. It asserts, case by case:
--   * no crash (a crash ends the process: run this as a script, see below);
--   * no hang: a spawned command is killed after a bound, and so is a case
--     taking longer (run under `timeout`; the case in progress is written to
--     the progress file);
--   * every refusal names the user's key: it is a string starting "nsbox",
--     carries no Lua position, and quotes a key or argument of the input;
--   * nothing is left behind: no new descriptor in /proc/self/fd, no child
--     of ours alive or a zombie, no new line in /proc/self/mountinfo.
-- Only recipes from a safe shape (scratch tmpfs mounts, no rootfs, binds or
-- raw mounts, no joins of other processes) are spawned: a mutated recipe
-- must change nothing on the host even where validation lets it through.
--
--   lua spec/support/fuzz.lua [CASES [SEED [PROGRESS_FILE]]]    (from the tree's top)
-- prints one summary line and exits 0, or lists the failures and exits 1.
local AS_SCRIPT = arg and arg[0] and arg[0]:match("fuzz%.lua$")
if AS_SCRIPT then -- run from the tree, as the specs do
  package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
  package.cpath = "build/?.so;" .. package.cpath
end

local nsbox = require "nsbox"
local check = require "nsbox.check"
local oci = require "nsbox.oci"
local cjson = require "cjson"
local lfs = require "lfs"

local M = {}

local SPAWN_EVERY = 20 -- one case in this many spawns `true`
local HANG_SECONDS = 10

-- What the cases did, for the summary: a fuzzer whose cases all end in the
-- same refusal tests nothing.
M.stats = { refused = 0, accepted = 0, spawned = 0, skipped = 0 }
local function count(what) M.stats[what] = M.stats[what] + 1 end

local function pick(list) return list[math.random(#list)] end
local function chance(p) return math.random() < p end

-- ---- random values ----

local WORDS = {
  "namespaces", "mounts", "uid_map", "gid_map", "env", "hostname", "domainname", "setgroups", "loopback", "cwd",
  "clearenv", "argv", "log", "join", "time", "caps", "no_new_privs", "user", "rlimits", "init", "die_with_parent",
  "umask", "rootfs", "rootfs_readonly", "chroot", "propagation", "masked", "readonly", "sysctl",
  "type", "target", "source", "options", "size", "mode", "uid", "gid", "groups", "hidepid", "readonly", "optional",
  "recursive", "content", "fstype", "keep", "bounding", "effective", "permitted", "inheritable", "ambient",
  "soft", "hard", "monotonic", "boottime", "inside", "outside", "count", "foreground",
  "uts", "pid", "net", "ipc", "mount", "user", "cgroup", "tmpfs", "proc", "bind", "ro_bind", "dev_bind",
  "sysfs", "mqueue", "devpts", "dev", "symlink", "dir", "file", "remount_ro", "deny", "allow", "private",
  "slave", "shared", "debug", "off", "unlimited", "nofile", "core", "cpu", "net_admin", "CAP_KILL", "sys_admin",
  "ro", "nosuid", "noexec", "rec", "remount", "size=1m", "mode=755", "net.ipv4.ip_forward", "kernel.shmmax",
  "kernel.core_pattern", "invisible", "1777", "0644", "hostnme", "namespace", "mountz",
}
local PATHS = { "/", "/tmp", "/tmp/x", "/tmp/x/y", "/proc", "/dev", "/mnt", "relative", "", "/a/../b", "//x//",
  "/tmp/\0x", "/proc/self/ns/net", "/nonexistent-nsbox", "/tmp/..", "." }
local INTEGERS = {
  0, 1, -1, 2, 7, 255, 511, 4095, 4096, 65534, 65535, 65536, 65537, 4194304, 4194305, 1 << 31, (1 << 32) - 2,
  (1 << 32) - 1, 1 << 32, (1 << 32) + 1, math.maxinteger, math.mininteger,
}
local FLOATS = { 0.5, -0.5, 1e300, -1e300, 0 / 0, math.huge, -math.huge, 2 ^ 31, 2 ^ 32, 2 ^ 63, 1.0, 1e18, -1e18 }

local function random_bytes(n)
  local bytes = {}
  for i = 1, n do bytes[i] = string.char(math.random(0, 255)) end
  return table.concat(bytes)
end

local function random_string()
  local r = math.random(10)
  if r <= 4 then return pick(WORDS) end
  if r <= 6 then return pick(PATHS) end
  if r == 7 then return random_bytes(math.random(0, 12)) end
  if r == 8 then
    local w = pick(WORDS)
    local at = math.random(0, #w)
    return w:sub(1, at) .. "\0" .. w:sub(at + 1)
  end
  if r == 9 then return (pick { "a", "/", "CAP_X", "x=" }):rep(math.random(1000, 70000)) end
  return pick(WORDS) .. random_bytes(math.random(1, 4))
end

local random_value

local function random_table(depth)
  local t = {}
  if chance(0.6) then
    for i = 1, math.random(0, 4) do t[i] = random_value(depth + 1) end
  else
    for _ = 1, math.random(0, 4) do t[random_string()] = random_value(depth + 1) end
  end
  return t
end

function random_value(depth)
  depth = depth or 0
  local r = math.random(14)
  if r == 1 then return nil end
  if r == 2 then return chance(0.5) end
  if r <= 4 then return pick(INTEGERS) end
  if r == 5 then return pick(FLOATS) end
  if r <= 9 then return random_string() end
  if r <= 12 and depth < 3 then return random_table(depth) end
  if r == 13 then return pick { print, io.stdout, coroutine.create(print), true } end
  return math.random(-100, 100)
end

-- ---- hostile metatables ----

local HOSTILE = {
  { __index = function() return "x" end },
  { __index = function() return {} end },
  { __index = function() error("metamethod __index ran") end },
  { __len = function() return math.maxinteger end },
  { __len = function() error("metamethod __len ran") end },
  { __pairs = function() return function() return "k", "v" end end },
  { __pairs = function() error("metamethod __pairs ran") end },
  { __newindex = function() error("metamethod __newindex ran") end },
  { __tostring = function() error("metamethod __tostring ran") end, __name = "evil" },
  { __eq = function() error("metamethod __eq ran") end, __lt = function() error("metamethod __lt ran") end,
    __concat = function() error("metamethod __concat ran") end },
}

-- ---- mutation ----

-- The keys of t, read raw, in an order that does not depend on the string
-- hash seed, so that a seed replays a case.
local function raw_keys(t)
  local keys = {}
  for k in next, t do keys[#keys + 1] = k end
  local function rank(k) return type(k) == "table" and "table" or type(k) .. ":" .. tostring(k) end
  table.sort(keys, function(a, b) return rank(a) < rank(b) end)
  return keys
end

-- Every table inside value, read raw, with the tables above it (for cycles).
local function tables_in(value)
  local found, seen = {}, {}
  local function walk(t, above)
    if seen[t] then return end
    seen[t] = true
    found[#found + 1] = { t = t, above = above }
    for _, k in ipairs(raw_keys(t)) do
      local v = rawget(t, k)
      if type(v) == "table" then walk(v, { t, table.unpack(above, 1, math.min(#above, 8)) }) end
    end
  end
  walk(value, {})
  return found
end

local function mutate_string(s)
  local r = math.random(4)
  if r == 1 then
    local at = math.random(0, #s)
    return s:sub(1, at) .. "\0" .. s:sub(at + 1)
  end
  if r == 2 then return s .. ("y"):rep(math.random(100, 70000)) end
  if r == 3 then return "" end
  return random_string()
end

local function mutate_once(root)
  local all = tables_in(root)
  local spot = pick(all)
  local t = spot.t
  local keys = raw_keys(t)
  local r = math.random(10)
  if r <= 3 then
    local key = #keys > 0 and chance(0.7) and pick(keys)
      or pick { pick(WORDS), random_string(), rawlen(t) + 1, 0, -1, 1.5 }
    if key == key then rawset(t, key, random_value()) end
  elseif r == 4 and #keys > 0 then
    rawset(t, pick(keys), nil)
  elseif r == 5 and #keys > 0 then
    local key = pick(keys)
    local v = rawget(t, key)
    if type(v) == "string" then rawset(t, key, mutate_string(v)) end
  elseif r == 6 then
    setmetatable(t, pick(HOSTILE))
  elseif r == 7 and #keys > 0 then
    rawset(t, pick(keys), #spot.above > 0 and pick(spot.above) or t)
  elseif r == 8 then
    local n = rawlen(t)
    if n > 0 then
      local item = rawget(t, math.random(n))
      for i = n + 1, n + (chance(0.1) and math.random(1000, 20000) or math.random(1, 50)) do rawset(t, i, item) end
    end
  elseif r == 9 and #keys > 0 then
    local key = pick(keys)
    local v = rawget(t, key)
    rawset(t, key, type(v) == "table" and random_value() or random_table(0))
  else
    rawset(t, rawlen(t) + 1, random_value())
  end
end

local function mutate(root, n)
  for _ = 1, n do mutate_once(root) end
  return root
end

-- ---- valid starting points ----

local function has_time_namespaces()
  return require("nsbox.ns").kernel_has_time_namespaces()
end

-- A recipe that spawning cannot turn against the host: created files land in
-- a tmpfs of its own, nothing is bound writable, no other process is joined.
local function safe_recipe()
  local ns, set = {}, {}
  for _, name in ipairs { "uts", "ipc", "net", "pid", "mount", "cgroup", "user", "time" } do
    if chance(0.4) and (name ~= "time" or has_time_namespaces()) then ns[#ns + 1], set[name] = name, true end
  end
  local r = { namespaces = ns }
  if set.uts then r.hostname = pick { "box", "a", ("h"):rep(64) } end
  if chance(0.3) then r.env = { A = "1", B = pick { "x", false } } end
  r.clearenv = chance(0.2) or nil
  r.cwd = chance(0.3) and pick { "/", "/tmp" } or nil
  if set.mount then
    local base = pick { "/tmp", "/mnt" }
    r.mounts = { { type = "tmpfs", target = base, size = "1m" },
      { type = "dir", target = base .. "/d", mode = "0700" },
      { type = "file", target = base .. "/d/f", content = "x" },
      { type = "symlink", target = base .. "/l", source = "/etc" } }
    if set.pid then r.mounts[#r.mounts + 1] = { type = "proc", target = "/proc" } end
    if chance(0.3) then r.mounts[#r.mounts + 1] = { type = "ro_bind", source = "/usr", target = "/usr" } end
    if chance(0.2) then r.masked = { "/proc/kcore" }; r.readonly = { "/usr" } end
    if set.net and set.pid and chance(0.5) then r.sysctl = { ["net.ipv4.ip_forward"] = "1" } end
  end
  if set.net then r.loopback = chance(0.8) end
  if chance(0.3) then r.rlimits = { nofile = { 64, 1024 }, core = 0 } end
  if chance(0.3) then r.umask = math.random(0, 511) end
  if chance(0.3) then r.caps = { keep = chance(0.5) and {} or { "net_bind_service", "CAP_KILL" } } end
  r.no_new_privs = chance(0.3) or nil
  if set.pid then r.init = chance(0.3) or nil end
  r.die_with_parent = chance(0.2) or nil
  if set.time then r.time = { monotonic = math.random(-10, 1000), boottime = 0.5 } end
  if not set.uts and not set.user and chance(0.2) then r.join = { uts = "/proc/self/ns/uts" } end
  return r
end

local function under(path, base)
  return path == base or base == "/" or path:sub(1, #base + 1) == base .. "/"
end

-- The validated recipe stays in the safe shape: every mount kind harmless and
-- without options (a "remount" would change a superblock the host shares),
-- every created path's nearest mount a tmpfs of the recipe, only our own uts
-- namespace joined.
local SAFE_KINDS = check.set_of { "tmpfs", "proc", "dir", "file", "symlink", "bind", "dev", "mqueue" }
local function still_safe(r)
  if r.rootfs or r.chroot or r.propagation then return false end
  for name, target in pairs(r.join or {}) do
    if name ~= "uts" or target.path ~= "/proc/self/ns/uts" then return false end
  end
  for i, m in ipairs(r.mounts) do
    if not SAFE_KINDS[m.type] or (m.type == "bind" and not m.readonly) or m.options then return false end
    if m.type == "dir" or m.type == "file" or m.type == "symlink" then
      local nearest
      for j = 1, i - 1 do
        local other = r.mounts[j]
        local creates = other.type == "dir" or other.type == "file" or other.type == "symlink"
        if SAFE_KINDS[other.type] and not creates and under(m.target, other.target) then nearest = other end
      end
      if not nearest or nearest.type ~= "tmpfs" then return false end
    end
  end
  return true
end

local FIXTURES = { "crun", "crun-rootless", "runc" }
local fixture_texts = {}
local function oci_config()
  local name = pick(FIXTURES)
  fixture_texts[name] = fixture_texts[name] or
    assert(io.open("spec/fixtures/oci/" .. name .. "/config.json")):read("a")
  local config = cjson.decode(fixture_texts[name])
  config.process.terminal = chance(0.9) and false or nil
  return config, name
end

local function mutate_text(text)
  for _ = 1, math.random(1, 4) do
    local at = math.random(1, math.max(1, #text)) -- cut down to nothing by an earlier mutation, it grows again
    local r = math.random(4)
    if r == 1 then text = text:sub(1, at - 1) .. text:sub(at + 1)
    elseif r == 2 then text = text:sub(1, at) .. random_bytes(math.random(1, 3)) .. text:sub(at + 1)
    elseif r == 3 then text = text:sub(1, at)
    else
      text = text:sub(1, at) .. pick { "[", "{", "\"", "]]]", "\\u0000", "1e999", "-0", "null" } .. text:sub(at + 1)
    end
  end
  return text
end

-- ---- what is left behind ----

local function fds()
  local list = {}
  for name in lfs.dir("/proc/self/fd") do
    if name:match("^%d+$") then list[#list + 1] = name end
  end
  table.sort(list)
  return table.concat(list, " ")
end

local PID
do
  local stat = assert(io.open("/proc/self/stat"))
  PID = stat:read("n")
  stat:close()
end

local function children()
  local f = io.open(("/proc/%d/task/%d/children"):format(PID, PID))
  local text = f and f:read("a") or ""
  if f then f:close() end
  return (text:gsub("%s+$", ""))
end

local function mountinfo()
  local f = assert(io.open("/proc/self/mountinfo"))
  local text = f:read("a")
  f:close()
  return text
end

local function state()
  return { fds = fds(), children = children(), mounts = mountinfo() }
end

local function left_behind(before)
  local after = state()
  for _, what in ipairs { "fds", "children", "mounts" } do
    if after[what] ~= before[what] then
      return ("left %s behind: before [%s], after [%s]"):format(what, before[what], after[what])
    end
  end
end

-- ---- the rule for refusals ----

local function top_keys(...)
  local keys = {}
  for i = 1, select("#", ...) do
    local t = select(i, ...)
    if type(t) == "table" then
      for k in next, t do
        if type(k) == "string" then keys[#keys + 1] = check.shown(k) end
        if math.type(k) == "integer" then keys[#keys + 1] = check.key_path("", k) end -- "[1]", as refusals say it
      end
    end
  end
  return keys
end

-- nil when err is a refusal naming one of keys; else why not.
local function bad_refusal(err, keys)
  count("refused")
  if type(err) ~= "string" then return "raised a " .. type(err) .. ", not a message" end
  if not err:match("^nsbox[%.%w]*: ") then return "not an nsbox refusal: " .. err end
  if err:find("%.lua:%d+:") or err:find("traceback") then return "points into Lua code: " .. err end
  if err:find("metamethod") then return "ran a metamethod of the input: " .. err end
  if err:find("^nsbox[%.%w]*: fragment #%d") or err:find("argument #%d") then return nil end
  for _, k in ipairs(keys) do
    for _, form in ipairs { "'" .. k, k .. ":", k .. "[", k .. ".", '"' .. k .. '"' } do
      if err:find(form, 1, true) then return nil end
    end
  end
  return "names no key of the input: " .. check.shown(err:sub(1, 100)) .. " ... " .. check.shown(err:sub(-200))
end

-- ---- cases ----

-- pcall(fn, ...), after a message when it took longer than the bound (else nil).
local function pcall_bounded(fn, ...)
  local started = os.time()
  local results = table.pack(pcall(fn, ...))
  local took = os.time() - started
  return took > HANG_SECONDS and ("took %d s"):format(took) or nil, table.unpack(results, 1, results.n)
end

-- Wait for proc within HANG_SECONDS, killing it after.
local function bounded_wait(proc)
  local deadline = os.time() + HANG_SECONDS
  local stat = ("/proc/%d/stat"):format(proc.pid)
  while os.time() <= deadline do
    local f = io.open(stat)
    if not f then break end
    local s = f:read("a")
    f:close()
    if s:match("^%d+ %b() ([ZX])") then return proc:wait() end
  end
  if os.time() > deadline then
    proc:kill("KILL")
    proc:wait()
    return nil, "hang"
  end
  return proc:wait()
end

local function recipe_case()
  local fragments = { mutate(chance(0.5) and safe_recipe() or random_table(0), math.random(1, 4)) }
  if chance(0.2) then fragments[2] = mutate(safe_recipe(), math.random(0, 2)) end
  local slow, ok, r = pcall_bounded(nsbox.recipe, table.unpack(fragments))
  if slow then return "nsbox.recipe " .. slow end
  if not ok then return bad_refusal(r, top_keys(table.unpack(fragments))) end
  local c, message
  slow, ok, c, message = pcall_bounded(nsbox.compile, r)
  if slow then return "nsbox.compile " .. slow end
  if not ok then return "nsbox.compile raised for a recipe nsbox.recipe accepted: " .. tostring(c) end
  if not c and not tostring(message):match("^join: ") then return "nsbox.compile failed: " .. tostring(message) end
  count("accepted")
end

-- Mutated, an argv keeps its harmless command: only its shape and its
-- extra arguments (which true ignores) change.
local function random_argv()
  local argv = { pick { "true", "/bin/true" } }
  if chance(0.8) then return argv end
  mutate(argv, math.random(1, 2))
  local command = rawget(argv, 1)
  if type(command) == "string" and not command:find("\0", 1, true) then rawset(argv, 1, "true") end
  return argv
end

local function spawn_case()
  local recipe = mutate(safe_recipe(), math.random(0, 2) * math.random(0, 1))
  local argv = random_argv()
  local options = chance(0.5) and pick { {}, { foreground = false } } or nil
  if chance(0.1) then options = pick { 5, "x", setmetatable({}, pick(HOSTILE)), { foreground = "yes" }, { fg = 1 } } end
  local ok, r = pcall(nsbox.recipe, recipe)
  if not ok then return bad_refusal(r, top_keys(recipe)) end
  if not still_safe(r) then count("skipped"); return nil end
  count("spawned")
  local run = chance(0.5) and nsbox.run or nsbox.spawn
  local slow, returned, proc, message = pcall_bounded(run, r, argv, options)
  if slow then return "spawn " .. slow end
  if not returned then return bad_refusal(proc, { "argv", "options", "recipe", table.unpack(top_keys(recipe)) }) end
  if run == nsbox.spawn and proc then
    local _, how = bounded_wait(proc)
    if how == "hang" then return "the sandboxed command did not end within " .. HANG_SECONDS .. " s" end
  elseif proc == nil and type(message) ~= "string" then
    return "a failure without a message: " .. tostring(message)
  end
end

local function oci_case()
  local config, name = oci_config()
  if chance(0.3) then
    -- The fixture's own text, not config encoded again: pairs' order would make the case unrepeatable.
    local text = fixture_texts[name]:gsub('"terminal": true', '"terminal": false')
    local ok, decoded = pcall(cjson.decode, mutate_text(text))
    if not ok or type(decoded) ~= "table" then return nil end
    config = decoded
  else
    mutate(config, math.random(1, 4))
  end
  local slow, ok, r = pcall_bounded(oci.translate, config, "/bundles/box")
  if slow then return "oci.translate " .. slow end
  if not ok then return bad_refusal(r, { "config.json", table.unpack(top_keys(config)) }) end
  local err
  slow, ok, err = pcall_bounded(nsbox.recipe, r)
  if slow then return "nsbox.recipe of a translation " .. slow end
  if not ok then return bad_refusal(err, top_keys(config, r)) end
  count("accepted")
end

local KINDS = { recipe_case, recipe_case, oci_case }

-- fuzz.run(cases, seed [, progress_path]) -> cases run, list of failures
-- ({ case =, seed =, kind =, why = }); case i draws from math.randomseed(seed, i),
-- so one case can be replayed alone with fuzz.case(i, seed).
function M.case(i, seed)
  math.randomseed(seed, i)
  local before = state()
  local kind = i % SPAWN_EVERY == 0 and spawn_case or pick(KINDS)
  local ok, why = pcall(kind)
  if not ok then why = "the fuzzer itself failed: " .. tostring(why) end
  collectgarbage()
  why = why or left_behind(before)
  return why, kind == spawn_case and "spawn" or kind == oci_case and "oci" or "recipe"
end

function M.run(cases, seed, progress_path)
  local failures = {}
  local progress = progress_path and assert(io.open(progress_path, "w"))
  for i = 1, cases do
    if progress then
      progress:seek("set")
      progress:write(("case %d of %d, seed %d\n"):format(i, cases, seed))
      progress:flush()
    end
    local why, kind = M.case(i, seed)
    if why then failures[#failures + 1] = { case = i, seed = seed, kind = kind, why = why } end
  end
  if progress then progress:close() end
  return failures
end

if AS_SCRIPT then
  local cases, seed = tonumber(arg[1]) or 1000, tonumber(arg[2]) or os.time()
  local started = os.time()
  local failures = M.run(cases, seed, arg[3])
  for _, f in ipairs(failures) do
    print(("FAIL case %d seed %d (%s): %s"):format(f.case, f.seed, f.kind, f.why))
  end
  local st = M.stats
  print(("fuzz: %d cases, seed %d: %d refused, %d accepted, %d spawned (%d skipped as unsafe to spawn); "
    .. "%d failures, %d s"):format(cases, seed, st.refused, st.accepted, st.spawned, st.skipped, #failures,
    os.time() - started))
  os.exit(#failures == 0 and 0 or 1)
end

return M
