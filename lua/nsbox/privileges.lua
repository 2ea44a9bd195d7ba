-- nsbox.privileges: what the command may do once it runs: capabilities,
-- identity, resource limits, no_new_privs, the init reaper, the parent-death
-- signal. Validated here; compiled into the last steps before exec.

local core = require "nsbox.core"
local check = require "nsbox.check"
local idmap = require "nsbox.idmap"
local rootfs = require "nsbox.rootfs"

local invalid = check.invalid

local M = {}

M.RLIMITS = check.sorted_names(core.RLIMITS) -- setrlimit(2)'s resources by name (nsbox.core's table)
local RLIMIT_SET = check.set_of(M.RLIMITS)

local NGROUPS_MAX = 65536 -- the most supplementary groups setgroups(2) takes

local CAP_SETS = { "bounding", "effective", "permitted", "inheritable", "ambient" }

-- libcap's names for this kernel: "cap_chown" -> 0, ...
local cap_numbers, cap_names
local function known_caps()
  if not cap_numbers then
    cap_names, cap_numbers = core.cap_names(), {}
    for i, name in ipairs(cap_names) do cap_numbers[name] = i - 1 end
  end
  return cap_numbers, cap_names
end

-- "NET_BIND_SERVICE", "cap_net_bind_service" -> "cap_net_bind_service"
local function cap_name(name, where)
  check.type(name, "string", where)
  local numbers, names = known_caps()
  local canonical = name:lower():gsub("^cap_", "")
  canonical = "cap_" .. canonical
  if not numbers[canonical] then
    invalid("'%s': unknown capability '%s'%s", where, check.shown(name), check.suggestion(canonical, names))
  end
  return canonical
end

local function cap_list(list, where)
  return check.list_of(list, where, cap_name)
end
M.cap_list = cap_list

-- caps = { keep = {...} } or one list per set (OCI's shape); ambient "auto"
-- means: raised when the command runs as a non-root uid, so it survives exec.
local function validate_caps(caps)
  check.type(caps, "table", "caps")
  local known = check.set_of(CAP_SETS)
  known.keep = true
  check.known_keys(caps, known, "caps")
  if caps.keep ~= nil then
    for _, set in ipairs(CAP_SETS) do
      if caps[set] ~= nil then invalid("'caps.keep' and 'caps.%s' cannot be used together", set) end
    end
    local keep = cap_list(caps.keep, "caps.keep")
    return { bounding = keep, effective = keep, permitted = keep, inheritable = keep, ambient = "auto" }
  end
  local out = {}
  for _, set in ipairs(CAP_SETS) do out[set] = cap_list(caps[set] or {}, "caps." .. set) end
  local permitted, inheritable = check.set_of(out.permitted), check.set_of(out.inheritable)
  for i, name in ipairs(out.ambient) do
    if not (permitted[name] and inheritable[name]) then
      invalid("'caps.ambient[%d]': %s must also be permitted and inheritable, or the kernel refuses it", i, name)
    end
  end
  return out
end

local function limit_value(value, where)
  if value == "unlimited" then return value end
  if math.type(value) ~= "integer" or value < 0 then
    invalid("'%s' must be a non-negative integer or \"unlimited\", got %s", where, tostring(value))
  end
  return value
end

local function above(soft, hard)
  if hard == "unlimited" then return false end
  return soft == "unlimited" or soft > hard
end

local function validate_rlimits(rlimits)
  local out = {}
  for name, value in pairs(check.type(rlimits, "table", "rlimits")) do
    local where = "rlimits." .. tostring(name)
    if not RLIMIT_SET[name] then
      invalid("rlimits: unknown resource '%s'%s; known: %s", tostring(name),
        check.suggestion(tostring(name), M.RLIMITS), table.concat(M.RLIMITS, ", "))
    end
    local soft, hard = value, value
    if type(value) == "table" then
      soft = limit_value(value[1] or value.soft, where .. ".soft")
      hard = limit_value(value[2] or value.hard, where .. ".hard")
    end
    soft, hard = limit_value(soft, where), limit_value(hard, where)
    if above(soft, hard) then
      invalid("'%s': the soft limit %s is above the hard limit %s", where, tostring(soft), tostring(hard))
    end
    out[name] = { soft = soft, hard = hard }
  end
  return out
end

-- user = { uid, gid, groups }: ids must exist in the user namespace's maps.
local function validate_user(user, r, has)
  check.type(user, "table", "user")
  check.known_keys(user, { uid = true, gid = true, groups = true }, "user")
  local out = { uid = check.id(user.uid, "user.uid"), gid = check.id(user.gid, "user.gid") }
  if user.groups ~= nil then
    if #check.list(user.groups, "user.groups") > NGROUPS_MAX then
      invalid("'user.groups' has %d groups, the kernel takes at most %d", #user.groups, NGROUPS_MAX)
    end
    out.groups = {}
    for i, g in ipairs(check.list(user.groups, "user.groups")) do
      out.groups[i] = check.id(g, ("user.groups[%d]"):format(i))
    end
  end
  if not has.user then return out end
  local _, _, euid = core.ids()
  local uid_map, gid_map = idmap.id_maps(r)
  if not idmap.outside(uid_map, out.uid) then
    invalid("'user.uid' %d has no mapping in the user namespace's uid_map", out.uid)
  end
  for i, g in ipairs { out.gid, table.unpack(out.groups or {}) } do
    if not idmap.outside(gid_map, g) then
      invalid("'%s' %d has no mapping in the user namespace's gid_map", i == 1 and "user.gid" or "user.groups", g)
    end
  end
  if out.groups and (r.setgroups == "deny" or euid ~= 0) then
    invalid("'user.groups' needs setgroups(2), which the user namespace denies %s",
      r.setgroups == "deny" and "(setgroups = \"deny\")" or "to an unprivileged caller")
  end
  return out
end

-- Checks the privilege keys of the merged table t into the recipe r.
function M.validate(t, r, has)
  if t.caps ~= nil then r.caps = validate_caps(t.caps) end
  for _, key in ipairs { "no_new_privs", "init", "die_with_parent" } do r[key] = check.boolean(t, key) end
  if r.init then check.needs(has, "pid", "init") end
  -- Wherever the command would be PID 1 of a new PID namespace, where the
  -- kernel drops the signals it has no handler for and orphans pile up.
  if r.init == nil and has.pid then r.init = true end
  if t.rlimits ~= nil then r.rlimits = validate_rlimits(t.rlimits) end
  if t.user ~= nil then r.user = validate_user(t.user, r, has) end
  if t.umask ~= nil then r.umask = check.mode(t.umask, "umask") end
end

local function numbers(names)
  local nums, list = known_caps(), {}
  for i, name in ipairs(names) do list[i] = nums[name] end
  return list
end

local function short(names)
  if #names == 0 then return "none" end
  local out = {}
  for i, name in ipairs(names) do out[i] = name:gsub("^cap_", "") end
  return table.concat(out, ",")
end

-- The uid the command will run as, inside its namespaces.
function M.final_uid(r, has)
  if r.user then return r.user.uid end
  if has.user then return 0 end
  return (core.ids())
end

-- The ambient set the caps key gives: "auto" raises the permitted set for a non-root uid.
local function ambient_set(r, has)
  local c = r.caps
  if c.ambient == "auto" then return M.final_uid(r, has) ~= 0 and c.permitted or {} end
  return c.ambient
end

-- The capabilities the command holds once it has exec'd a program without file capabilities, by the kernel's
-- execve rules: as root, its bounding and inheritable sets (under no_new_privs, no more than it had
-- permitted); as any other uid, its ambient set. Without the caps key: every capability for root in its own
-- user namespace (or the host's root), but CAP_SYS_ADMIN where the rootfs is protected; none for another uid.
function M.exec_caps(r, has, no_new_privs)
  local _, _, euid = core.ids()
  if M.final_uid(r, has) ~= 0 or not (has.user or euid == 0) then
    return check.set_of(r.caps and ambient_set(r, has) or {})
  end
  if not r.caps then
    local all = check.set_of(core.cap_names())
    if rootfs.protects(r) then all.cap_sys_admin = nil end
    return all
  end
  local held, permitted = check.set_of(r.caps.bounding), check.set_of(r.caps.permitted)
  for _, name in ipairs(r.caps.inheritable) do held[name] = true end
  for name in pairs(held) do
    if no_new_privs and not permitted[name] then held[name] = nil end
  end
  return held
end

local function caps_steps(r, has)
  local c = r.caps
  local ambient = ambient_set(r, has)
  local step = { bounding = numbers(c.bounding), effective = numbers(c.effective), permitted = numbers(c.permitted),
    inheritable = numbers(c.inheritable), ambient = numbers(ambient) }
  return step, ("set capabilities: effective %s, permitted %s, inheritable %s, ambient %s"):format(
    short(c.effective), short(c.permitted), short(c.inheritable), short(ambient))
end

-- The last steps, in the order the kernel needs them: limits while still
-- privileged, the bounding set while CAP_SETPCAP is there, the identity
-- with the kept capabilities, then the final sets; the init reaper and the
-- parent-death signal for the exec.
function M.compile(r, plan, add)
  plan.init, plan.die_with_parent = r.init, r.die_with_parent
  local has = check.set_of(r.namespaces)
  local names = check.sorted_names(r.rlimits or {})
  for _, name in ipairs(names) do
    local l = r.rlimits[name]
    add { op = "rlimit", resource = name, soft = l.soft, hard = l.hard,
      desc = ("set rlimit %s to %s (hard %s)"):format(name, tostring(l.soft), tostring(l.hard)) }
  end
  if r.umask then add { op = "umask", mode = r.umask, desc = ("set umask %04o"):format(r.umask) } end
  local caps, caps_desc
  if r.caps then
    caps, caps_desc = caps_steps(r, has)
    add(setmetatable({ op = "drop_bounding", desc = "limit the bounding set to " .. short(r.caps.bounding) },
      { __index = caps }))
  end
  -- While CAP_SETPCAP is still there for the bounding set.
  if not r.caps and rootfs.protects(r) then
    add { op = "drop_caps", caps = numbers { "cap_sys_admin" },
      desc = "drop cap_sys_admin, which could undo read-only and masked mounts (list it in caps to keep it)" }
  end
  if r.user then
    local u = r.user
    add { op = "identity", uid = u.uid, gid = u.gid, groups = u.groups, keep_caps = caps ~= nil,
      desc = ("switch to uid %d, gid %d, groups %s"):format(u.uid, u.gid,
        u.groups and (#u.groups > 0 and table.concat(u.groups, ",") or "none") or "none") }
  end
  if caps then add(setmetatable({ op = "caps", desc = caps_desc }, { __index = caps })) end
  if r.no_new_privs then add { op = "no_new_privs", desc = "set no_new_privs" } end
  if r.die_with_parent then add { op = "die_with_parent", desc = "die with the parent (SIGKILL)" } end
end

return M
