-- nsbox.namespaces: how the command gets its namespaces. Usually clone
-- creates them all at once. With `join` or a time namespace the plan starts
-- instead with steps: setns into the joined namespaces, unshare the new ones
-- (so that they belong to a joined user namespace), write the time offsets,
-- then fork, because PID and time namespaces take only children made after.
--
-- Why not clone3 with CLONE_NEWTIME: a time namespace's offsets can only be
-- written before any process is in it, and clone3 puts the child in at once.

local core = require "nsbox.core"
local check = require "nsbox.check"

local invalid = check.invalid

local M = {}

M.KEYS = { join = "value", time = "value" }

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

function M.validate(t, r, has)
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

-- Fills plan.namespaces (what clone creates) and adds the leading steps.
-- Returns true, or nil, message, errno when a process to join is gone.
function M.compile(r, plan, add)
  local has = check.set_of(r.namespaces)
  if not r.join and not has.time then
    plan.namespaces = r.namespaces
    return true
  end
  -- Only the user namespace comes from clone: the parent must write its maps.
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

return M
