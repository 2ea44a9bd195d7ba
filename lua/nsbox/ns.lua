-- nsbox.ns: the concern of which namespaces the command is in: those it
-- creates (namespaces), those it joins (join), a new time namespace's
-- offsets (time), a new network namespace's lo brought up unless
-- loopback = false. Usually clone creates them all at once. With `join` or a
-- time namespace the plan starts instead with steps: setns into the joined
-- namespaces, unshare the new ones (so that they belong to a joined user
-- namespace), write the time offsets, then fork, because PID and time
-- namespaces take only children made after.
--
-- Why not clone3 with CLONE_NEWTIME: a time namespace's offsets can only be
-- written before any process is in it, and clone3 puts the child in at once.
--
-- (nsbox.namespaces(), the public function, is nsbox.lsns's: which
-- namespaces a process is in.)

local core = require "nsbox.core"
local check = require "nsbox.check"
local idmap = require "nsbox.idmap"

local invalid = check.invalid

local M = {}

-- The namespaces a recipe may ask for: nsbox.core's table, by name (the order of namespaces(7)).
M.NAMESPACES = check.sorted_names(core.NAMESPACES)
local NAMESPACE_SET = check.set_of(M.NAMESPACES)

-- Recipe names of the types that can be joined, and their /proc/PID/ns files.
M.PROC_NAME = {}
for name, ns in pairs(core.NAMESPACES) do M.PROC_NAME[name] = ns.proc end
local JOIN_TYPES = check.sorted_names(M.PROC_NAME)

-- The kernel's highest pid (PID_MAX_LIMIT), whatever kernel.pid_max says:
-- beyond it a number cannot be a pid, and pid_t would silently cut it.
local PID_MAX_LIMIT = 4194304

-- The kernel keeps a time namespace's clocks from 0 to KTIME_SEC_MAX / 2
-- seconds; an offset beyond that range is refused whatever the clock reads.
local MAX_OFFSET = 4611686018

local function pid(value, where)
  return check.integer(value, where, 1, PID_MAX_LIMIT, "a pid")
end

function M.kernel_has_time_namespaces()
  local f = io.open("/proc/self/ns/time")
  if f then f:close() end
  return f ~= nil
end

local read_sysctl = require("nsbox.files").first_line

-- Why the kernel refused a user namespace, and the switch that allows it.
function M.user_namespace_blocker(euid)
  local max = read_sysctl("/proc/sys/user/max_user_namespaces")
  if max == "0" then
    return "user namespaces are disabled (user.max_user_namespaces is 0); "
      .. "enable them with: sysctl -w user.max_user_namespaces=15000"
  end
  if euid == 0 then return nil end
  if read_sysctl("/proc/sys/kernel/unprivileged_userns_clone") == "0" then
    return "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone is 0); "
      .. "enable them with: sysctl -w kernel.unprivileged_userns_clone=1"
  end
  if read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1" then
    return "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns is 1); "
      .. "allow them with: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, "
      .. "or an AppArmor profile for lua granting 'userns,'"
  end
  return nil
end

local function join_target(target, where)
  if type(target) == "number" then return { pid = pid(target, where) } end
  if type(target) == "string" then return { path = check.absolute(target, where) } end
  if io.type(target) == "file" then return { file = target } end
  invalid("'%s' must be a pid, an absolute path or an open file, got %s", where,
    io.type(target) == "closed file" and "a closed file" or type(target))
end

-- join = PID (every namespace of PID that differs from ours), or
-- join = { net = PID | "/path" | file, ... }
local function validate_join(join, has)
  if type(join) == "number" then return { all = pid(join, "join") } end
  if type(join) ~= "table" then invalid("'join' must be a pid or a table, got %s", type(join)) end
  local out = {}
  for name, target in pairs(join) do
    if type(name) ~= "string" or not M.PROC_NAME[name] then
      invalid("join: unknown namespace '%s'%s; known: %s", tostring(name),
        check.suggestion(tostring(name), JOIN_TYPES), table.concat(JOIN_TYPES, ", "))
    end
    if has[name] then invalid("'join.%s': the %s namespace cannot be both joined and created", name, name) end
    out[name] = join_target(target, "join." .. name)
  end
  return out
end

local function validate_time(time, has)
  check.type(time, "table", "time")
  check.known_keys(time, { monotonic = true, boottime = true }, "time")
  for clock, seconds in pairs(time) do
    if type(seconds) ~= "number" or seconds ~= seconds or math.abs(seconds) > MAX_OFFSET then
      invalid("'time.%s' must be a number of seconds from -%d to %d, got %s", clock, MAX_OFFSET, MAX_OFFSET,
        check.shown(seconds))
    end
  end
  check.needs(has, "time", "time")
  return time
end

-- The namespaces to create, each once, into the list it returns and the set has.
-- An unprivileged caller can create the others only from inside a new user
-- namespace, so it gets one whenever it asks for any (unless it joins one).
local function validate_namespaces(list, has, joining)
  local out = {}
  for i, name in ipairs(check.list(list, "namespaces")) do
    check.type(name, "string", ("namespaces[%d]"):format(i))
    if not NAMESPACE_SET[name] then
      invalid("namespaces[%d]: unknown namespace '%s'%s; known: %s", i, name,
        check.suggestion(name, M.NAMESPACES), table.concat(M.NAMESPACES, ", "))
    end
    if not has[name] then
      has[name] = true
      out[#out + 1] = name
    end
  end
  local _, _, euid = core.ids()
  if euid ~= 0 and #out > 0 and not has.user and not joining then
    table.insert(out, 1, "user")
    has.user = true
  end
  return out
end

-- The first concern: it fills has, the set of namespaces the recipe creates,
-- which the others' keys may need.
function M.validate(t, r, has)
  r.namespaces = validate_namespaces(t.namespaces or {}, has, t.join ~= nil)
  if t.join ~= nil then
    r.join = validate_join(t.join, has)
    if has.user then
      invalid("'join' cannot be combined with a new user namespace: join the target's user namespace instead")
    end
  end
  if has.time and not M.kernel_has_time_namespaces() then
    invalid("'namespaces': this kernel has no time namespaces (/proc/self/ns/time is missing; "
      .. "they need Linux 5.6 or later built with CONFIG_TIME_NS)")
  end
  if t.time ~= nil then r.time = validate_time(t.time, has) end
  r.loopback = check.boolean(t, "loopback")
  if r.loopback then check.needs(has, "net", "loopback") end
end

-- "monotonic 10 500000000": whole seconds rounded down, nanoseconds in [0, 1e9).
local function offset_line(clock, seconds)
  local secs = math.floor(seconds)
  local nanos = math.floor((seconds - secs) * 1e9 + 0.5)
  if nanos >= 1000000000 then secs, nanos = secs + 1, 0 end
  return ("%s %d %d\n"):format(clock, secs, nanos)
end

local function time_step(time)
  local text, words = {}, {}
  for _, clock in ipairs { "monotonic", "boottime" } do
    if time[clock] then
      text[#text + 1] = offset_line(clock, time[clock])
      words[#words + 1] = ("%s %+gs"):format(clock, time[clock])
    end
  end
  return { op = "time_offsets", source = table.concat(text), desc = "set time offsets: " .. table.concat(words, ", ") }
end

-- The types where pid's namespaces differ from ours, in recipe names.
local function differing(target)
  local lsns = require "nsbox.lsns"
  local theirs, message, errno = lsns.namespaces(target)
  if not theirs then return nil, "join: " .. message, errno end
  local ours, types = lsns.namespaces(), {}
  for _, name in ipairs(JOIN_TYPES) do
    local proc = M.PROC_NAME[name]
    if theirs[proc] and ours[proc] and theirs[proc].id ~= ours[proc].id then types[#types + 1] = name end
  end
  return types
end

-- The join steps and the set of types they enter.
local function join_steps(join, add)
  local joined = {}
  if join.all then
    local types, message, errno = differing(join.all)
    if not types then return nil, message, errno end
    for _, name in ipairs(types) do joined[name] = true end
    if #types > 0 then
      add { op = "join", pid = join.all, types = types,
        desc = ("join the %s namespaces of pid %d"):format(table.concat(types, ", "), join.all) }
    end
    return joined
  end
  for _, name in ipairs(JOIN_TYPES) do
    local target = join[name]
    if target then
      joined[name] = true
      local from = target.pid and ("pid " .. target.pid) or target.path or "an open file"
      add { op = "join", pid = target.pid, path = target.path, file = target.file, types = { name },
        desc = ("join the %s namespace of %s"):format(name, from) }
    end
  end
  return joined
end

-- With a join or a time namespace: clone creates only the user namespace
-- (the parent must write its maps), steps do the rest.
local function entry_steps(r, plan, add, has)
  plan.namespaces = has.user and { "user" } or {}
  local joined, message, errno = join_steps(r.join or {}, add)
  if not joined then return nil, message, errno end
  local created = {}
  for _, name in ipairs(r.namespaces) do
    if name ~= "user" then created[#created + 1] = name end
  end
  if #created > 0 then
    add { op = "unshare", types = created, desc = "create the " .. table.concat(created, ", ") .. " namespaces" }
  end
  if r.time then add(time_step(r.time)) end
  if has.pid or has.time or joined.pid or joined.time then
    add { op = "fork", desc = "fork into the new pid and time namespaces, staying behind to relay" }
  end
  return true
end

-- The child keeps the caller's ids outside until it switches. When 0 inside
-- a new user namespace is someone else outside (root running with
-- `unprivileged`, or maps of its own), it becomes that root first, so that
-- nothing of the plan or the command acts with the caller's host ids.
local function namespace_root_step(r, add)
  local uid_map, gid_map = idmap.id_maps(r)
  local _, _, euid, egid = core.ids()
  local uid, gid = idmap.outside(uid_map, 0), idmap.outside(gid_map, 0)
  if uid and gid and (uid ~= euid or gid ~= egid) then
    add { op = "identity", uid = 0, gid = 0, keep_caps = true,
      desc = ("become root of the user namespace (uid %d, gid %d outside)"):format(uid, gid) }
  end
end

-- Sets plan.namespaces (what clone creates); the steps that join, unshare
-- and fork; then, inside, what every later step relies on: being root of a
-- new user namespace, and a new mount namespace that nothing propagates out of.
-- Returns nil, message, errno when a process to join is gone.
function M.compile(r, plan, add)
  local has = check.set_of(r.namespaces)
  if r.join or has.time then
    local ok, message, errno = entry_steps(r, plan, add, has)
    if not ok then return nil, message, errno end
  else
    plan.namespaces = r.namespaces
  end
  if has.user then namespace_root_step(r, add) end
  if has.mount then
    add { op = "mount", desc = "make / private (recursive)", target = "/", options = { "rec", "private" } }
  end
  if has.net and r.loopback ~= false then add { op = "loopback", desc = "bring lo up" } end
end

return M
