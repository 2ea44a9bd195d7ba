-- nsbox.recipe: compose recipe fragments, validate every key, compile to a plan.
--
-- A recipe is plain data. Everything that can be wrong with it is found here,
-- in the parent, before any process is cloned; the plan this module produces
-- is what csrc/plan.c turns into the C struct the child executes.

local core = require "nsbox.core"

local M = {}

local Recipe = { __name = "nsbox.recipe" }
Recipe.__index = Recipe
M.Recipe = Recipe

-- The namespaces a recipe may ask for, in the order of namespaces(7).
M.NAMESPACES = { "cgroup", "ipc", "mount", "net", "pid", "user", "uts" }

-- Every key a recipe may have, and how fragments combine it.
local KEYS = {
  namespaces = "list", mounts = "list", uid_map = "list", gid_map = "list",
  env = "map",
  hostname = "value", domainname = "value", setgroups = "value", loopback = "value",
  cwd = "value", clearenv = "value", argv = "value", log = "value",
}

local MOUNT_KEYS = {
  proc = { type = true, target = true, options = true },
  tmpfs = { type = true, target = true, options = true, size = true, mode = true },
  bind = { type = true, target = true, source = true, readonly = true, optional = true, recursive = true },
}
MOUNT_KEYS.ro_bind = MOUNT_KEYS.bind

local HOST_NAME_MAX = 64
local MAX_MAP_LINES = 340 -- the kernel's limit on uid_map and gid_map lines

-- Validation failures travel as this type so that compose can re-raise them
-- at the caller's line, whatever depth they were found at.
local Invalid = {}

local function invalid(fmt, ...)
  error(setmetatable({ message = string.format(fmt, ...) }, Invalid), 0)
end

local function distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

local function sorted_names(set)
  local names = {}
  for name in pairs(set) do names[#names + 1] = name end
  table.sort(names)
  return names
end

-- " (did you mean 'hostname'?)" when one known name is close enough to word.
local function suggestion(word, names)
  local best, best_d = nil, math.max(2, #word // 3) + 1
  for _, name in ipairs(names) do
    local d = distance(word, name)
    if d < best_d then best, best_d = name, d end
  end
  return best and string.format(" (did you mean '%s'?)", best) or ""
end
M.suggestion = suggestion

local function check_known_keys(t, known, where)
  for key in pairs(t) do
    local prefix = where and (where .. ": ") or ""
    if type(key) ~= "string" then
      invalid("%skeys must be strings, got %s", prefix, type(key))
    end
    if not known[key] then
      invalid("%sunknown key '%s'%s", prefix, key, suggestion(key, sorted_names(known)))
    end
  end
end

local function check_type(value, expected, where)
  if type(value) ~= expected then
    invalid("'%s' must be a %s, got %s", where, expected, type(value))
  end
  return value
end

local function check_list(value, where)
  check_type(value, "table", where)
  local n = #value
  for k in pairs(value) do
    if math.type(k) ~= "integer" or k < 1 or k > n then
      invalid("'%s' must be a list, got key %s", where, tostring(k))
    end
  end
  return value
end

local function check_absolute(path, where)
  check_type(path, "string", where)
  if path:sub(1, 1) ~= "/" then
    invalid("'%s' must be an absolute path, got '%s'", where, path)
  end
  return path
end

local function set_of(list)
  local set = {}
  for _, v in ipairs(list) do set[v] = true end
  return set
end
local NAMESPACE_SET = set_of(M.NAMESPACES)

local function check_namespaces(list)
  local out, seen = {}, {}
  for i, name in ipairs(check_list(list, "namespaces")) do
    check_type(name, "string", ("namespaces[%d]"):format(i))
    if not NAMESPACE_SET[name] then
      invalid("namespaces[%d]: unknown namespace '%s'%s; known: %s", i, name,
        suggestion(name, M.NAMESPACES), table.concat(M.NAMESPACES, ", "))
    end
    if not seen[name] then
      seen[name] = true
      out[#out + 1] = name
    end
  end
  return out, seen
end

local function check_name(value, key)
  check_type(value, "string", key)
  if #value == 0 or #value > HOST_NAME_MAX then
    invalid("'%s' must be 1 to %d bytes, got %d", key, HOST_NAME_MAX, #value)
  end
  if value:find("%z") then invalid("'%s' must not contain a NUL byte", key) end
  return value
end

local function check_id(value, where)
  if math.type(value) ~= "integer" or value < 0 or value > 0xFFFFFFFE then
    invalid("'%s' must be an integer from 0 to 4294967294, got %s", where, tostring(value))
  end
  return value
end

local function ranges_overlap(a_start, a_count, b_start, b_count)
  return a_start < b_start + b_count and b_start < a_start + a_count
end

-- A uid_map or gid_map: {inside, outside, count} entries, positional or named.
local function check_id_map(list, key)
  local out = {}
  check_list(list, key)
  if #list > MAX_MAP_LINES then invalid("'%s' has %d ranges, the kernel takes at most %d", key, #list, MAX_MAP_LINES) end
  for i, entry in ipairs(list) do
    local where = ("%s[%d]"):format(key, i)
    check_type(entry, "table", where)
    local range = {
      inside = check_id(entry.inside or entry[1], where .. ".inside"),
      outside = check_id(entry.outside or entry[2], where .. ".outside"),
      count = entry.count or entry[3],
    }
    if math.type(range.count) ~= "integer" or range.count < 1 then
      invalid("'%s.count' must be an integer of at least 1, got %s", where, tostring(range.count))
    end
    for j, other in ipairs(out) do
      for _, side in ipairs { "inside", "outside" } do
        if ranges_overlap(range[side], range.count, other[side], other.count) then
          invalid("'%s' overlaps %s[%d] on the %s ids", where, key, j, side)
        end
      end
    end
    out[i] = range
  end
  return out
end

-- "1777" (octal text) or an integer holding the mode bits.
local function check_mode(value, where)
  local mode = value
  if type(value) == "string" then mode = value:match("^[0-7]+$") and tonumber(value, 8) end
  if math.type(mode) ~= "integer" or mode < 0 or mode > 4095 then
    invalid("'%s' must be an octal string like \"1777\" or an integer up to 4095, got %s", where, tostring(value))
  end
  return mode
end

local function check_size(value, where)
  local ok = (math.type(value) == "integer" and value > 0)
    or (type(value) == "string" and value:match("^%d+[kKmMgG%%]?$"))
  if not ok then
    invalid("'%s' must be a byte count or a string like \"64m\" or \"50%%\", got %s", where, tostring(value))
  end
  return tostring(value)
end

local function check_options(value, where)
  if value == nil then return nil end
  if type(value) == "string" then return { value } end
  for i, word in ipairs(check_list(value, where)) do check_type(word, "string", ("%s[%d]"):format(where, i)) end
  return value
end

local function check_mount(entry, i)
  local where = ("mounts[%d]"):format(i)
  check_type(entry, "table", where)
  local kind = check_type(entry.type, "string", where .. ".type")
  local known = MOUNT_KEYS[kind]
  if not known then
    invalid("'%s.type': unknown mount type '%s'%s; known: %s", where, kind,
      suggestion(kind, sorted_names(MOUNT_KEYS)), table.concat(sorted_names(MOUNT_KEYS), ", "))
  end
  check_known_keys(entry, known, where)
  local m = { type = kind, target = check_absolute(entry.target, where .. ".target") }
  m.options = check_options(entry.options, where .. ".options")
  if kind == "tmpfs" then
    m.size = entry.size ~= nil and check_size(entry.size, where .. ".size") or nil
    m.mode = entry.mode ~= nil and check_mode(entry.mode, where .. ".mode") or nil
  elseif kind == "bind" or kind == "ro_bind" then
    m.source = check_absolute(entry.source, where .. ".source")
    for _, flag in ipairs { "readonly", "optional", "recursive" } do
      if entry[flag] ~= nil then m[flag] = check_type(entry[flag], "boolean", where .. "." .. flag) end
    end
    if kind == "ro_bind" then m.type, m.readonly = "bind", true end
    if m.recursive == nil then m.recursive = true end
  end
  return m
end

local function check_env(env)
  check_type(env, "table", "env")
  for name, value in pairs(env) do
    if type(name) ~= "string" or name == "" or name:find("[=%z]") then
      invalid("env: variable names must be non-empty strings without '=', got %s", tostring(name))
    end
    if type(value) ~= "string" and value ~= false then
      invalid("'env.%s' must be a string, or false to unset it; got %s", name, type(value))
    end
  end
  return env
end

local function check_argv(argv, where)
  check_list(argv, where)
  if #argv == 0 then invalid("'%s' must not be empty", where) end
  for i, word in ipairs(argv) do check_type(word, "string", ("%s[%d]"):format(where, i)) end
  return argv
end
M.check_argv = check_argv

local function needs(has, namespace, key)
  if not has[namespace] then
    invalid("'%s' needs the '%s' namespace (add \"%s\" to namespaces)", key, namespace, namespace)
  end
end

-- The validated, normalized copy of a merged recipe table.
local function validate(t)
  local r = setmetatable({}, Recipe)
  local has
  r.namespaces, has = check_namespaces(t.namespaces or {})
  for _, key in ipairs { "hostname", "domainname" } do
    if t[key] ~= nil then r[key] = check_name(t[key], key); needs(has, "uts", key) end
  end
  for _, key in ipairs { "uid_map", "gid_map" } do
    if t[key] ~= nil then r[key] = check_id_map(t[key], key); needs(has, "user", key) end
  end
  if t.setgroups ~= nil then
    if t.setgroups ~= "deny" and t.setgroups ~= "allow" then
      invalid("'setgroups' must be \"deny\" or \"allow\", got %s", tostring(t.setgroups))
    end
    needs(has, "user", "setgroups")
    r.setgroups = t.setgroups
  end
  r.mounts = {}
  for i, entry in ipairs(check_list(t.mounts or {}, "mounts")) do
    r.mounts[i] = check_mount(entry, i)
    needs(has, "mount", ("mounts[%d]"):format(i))
  end
  if t.loopback ~= nil then
    r.loopback = check_type(t.loopback, "boolean", "loopback")
    if r.loopback then needs(has, "net", "loopback") end
  end
  if t.cwd ~= nil then r.cwd = check_absolute(t.cwd, "cwd") end
  if t.env ~= nil then r.env = check_env(t.env) end
  if t.clearenv ~= nil then r.clearenv = check_type(t.clearenv, "boolean", "clearenv") end
  if t.argv ~= nil then r.argv = check_argv(t.argv, "argv") end
  if t.log ~= nil and t.log ~= "debug" and t.log ~= "off" then
    invalid("'log' must be \"debug\" or \"off\", got %s", tostring(t.log))
  end
  r.log = t.log
  return r
end

local function merge_into(merged, fragment, i)
  if type(fragment) ~= "table" then invalid("fragment #%d must be a table, got %s", i, type(fragment)) end
  check_known_keys(fragment, KEYS)
  for key, value in pairs(fragment) do
    local how = KEYS[key]
    if how == "list" then
      local list = merged[key] or {}
      for _, item in ipairs(check_list(value, key)) do list[#list + 1] = item end
      merged[key] = list
    elseif how == "map" then
      local map = merged[key] or {}
      for name, v in pairs(check_type(value, "table", key)) do map[name] = v end
      merged[key] = map
    else
      merged[key] = value
    end
  end
end

-- nsbox.recipe(fragment, ...) -> recipe. Later fragments win; lists append.
function M.compose(...)
  local n = select("#", ...)
  local fragments = { ... }
  local ok, result = pcall(function()
    local merged = {}
    for i = 1, n do merge_into(merged, fragments[i], i) end
    return validate(merged)
  end)
  if ok then return result end
  if getmetatable(result) == Invalid then error("nsbox.recipe: " .. result.message, 2) end
  error(result, 0)
end

-- ---- compilation: recipe -> plan table for core.plan ----

local function map_text(ranges)
  local lines = {}
  for i, r in ipairs(ranges) do lines[i] = ("%d %d %d\n"):format(r.inside, r.outside, r.count) end
  return table.concat(lines)
end

local function mount_steps(m)
  if m.type == "proc" then
    return { op = "mount", desc = "mount proc on " .. m.target, source = "proc", fstype = "proc",
      target = m.target, options = { "nosuid", "nodev", "noexec", table.unpack(m.options or {}) } }
  elseif m.type == "tmpfs" then
    local options = { "nosuid", "nodev", table.unpack(m.options or {}) }
    if m.size then options[#options + 1] = "size=" .. m.size end
    if m.mode then options[#options + 1] = ("mode=%o"):format(m.mode) end
    return { op = "mount", desc = "mount tmpfs on " .. m.target, source = "tmpfs", fstype = "tmpfs",
      target = m.target, options = options }
  end
  return { op = "bind", source = m.source, target = m.target, recursive = m.recursive,
    readonly = m.readonly, optional = m.optional,
    desc = ("bind %s%s on %s"):format(m.source, m.readonly and " read-only" or "", m.target) }
end

local function has_namespace(r, name)
  for _, v in ipairs(r.namespaces) do if v == name then return true end end
  return false
end
M.has_namespace = has_namespace

local function default_map(id)
  return { { inside = 0, outside = id, count = 1 } }
end

-- The environment of the command: nil to inherit ours unchanged.
local function command_env(r)
  if not r.env and not r.clearenv then return nil end
  local vars, order = {}, {}
  if not r.clearenv then
    for _, entry in ipairs(core.environ()) do
      local name = entry:match("^([^=]*)=")
      if name and vars[name] == nil then order[#order + 1] = name end
      if name then vars[name] = entry end
    end
  end
  local names = sorted_names(r.env or {})
  for _, name in ipairs(names) do
    local value = r.env[name]
    if vars[name] == nil and value then order[#order + 1] = name end
    vars[name] = value and (name .. "=" .. value) or false
  end
  local env = {}
  for _, name in ipairs(order) do
    if vars[name] then env[#env + 1] = vars[name] end
  end
  return env
end

-- recipe -> plan: the ordered steps the child runs, with a description each.
function M.compile(r)
  local steps = {}
  local function add(step) steps[#steps + 1] = step end
  local plan = { namespaces = r.namespaces, setgroups = r.setgroups, steps = steps, env = command_env(r) }
  if has_namespace(r, "user") then
    local _, _, euid, egid = core.ids()
    plan.uid_map = map_text(r.uid_map or default_map(euid))
    plan.gid_map = map_text(r.gid_map or default_map(egid))
  end
  if has_namespace(r, "mount") then
    -- Nothing mounted inside may propagate back to the host.
    add { op = "mount", desc = "make / private (recursive)", target = "/", options = { "rec", "private" } }
  end
  if r.hostname then add { op = "hostname", desc = "set hostname to " .. r.hostname, source = r.hostname } end
  if r.domainname then
    add { op = "domainname", desc = "set domain name to " .. r.domainname, source = r.domainname }
  end
  if has_namespace(r, "net") and r.loopback ~= false then add { op = "loopback", desc = "bring lo up" } end
  for _, m in ipairs(r.mounts) do add(mount_steps(m)) end
  if r.cwd then add { op = "chdir", desc = "change directory to " .. r.cwd, target = r.cwd } end
  return plan
end

return M
