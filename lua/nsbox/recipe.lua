-- nsbox.recipe: compose recipe fragments, validate every key, compile to a plan.
--
-- A recipe is plain data. Everything that can be wrong with it is found here,
-- in the parent, before any process is cloned; the plan this module produces
-- is what csrc/plan.c turns into the C struct the child executes.

local core = require "nsbox.core"
local check = require "nsbox.check"
local mounts = require "nsbox.mounts"
local privileges = require "nsbox.privileges"
local namespaces = require "nsbox.namespaces"
local rootfs = require "nsbox.rootfs"
local network = require "nsbox.network"

local invalid = check.invalid

local M = {}

local Recipe = { __name = "nsbox.recipe" }
Recipe.__index = Recipe
M.Recipe = Recipe

-- The namespaces a recipe may ask for, in the order of namespaces(7).
M.NAMESPACES = { "cgroup", "ipc", "mount", "net", "pid", "time", "user", "uts" }
local NAMESPACE_SET = check.set_of(M.NAMESPACES)

-- Every key a recipe may have, and how fragments combine it.
local KEYS = {
  namespaces = "list", mounts = "list", uid_map = "list", gid_map = "list",
  env = "map",
  hostname = "value", domainname = "value", setgroups = "value", loopback = "value", unprivileged = "value",
  cwd = "value", clearenv = "value", argv = "value", argv0 = "value", log = "value", new_session = "value",
  tty = "value",
}
for _, module in ipairs { privileges, namespaces, rootfs, network } do
  for key, how in pairs(module.KEYS) do KEYS[key] = how end
end

local HOST_NAME_MAX = 64
local MAX_MAP_LINES = 340 -- the kernel's limit on uid_map and gid_map lines

-- An unprivileged caller can create the others only from inside a new user
-- namespace, so it gets one whenever it asks for any (unless it joins one).
local function check_namespaces(list, joining)
  local out, seen = {}, {}
  for i, name in ipairs(check.list(list, "namespaces")) do
    check.type(name, "string", ("namespaces[%d]"):format(i))
    if not NAMESPACE_SET[name] then
      invalid("namespaces[%d]: unknown namespace '%s'%s; known: %s", i, name,
        check.suggestion(name, M.NAMESPACES), table.concat(M.NAMESPACES, ", "))
    end
    if not seen[name] then
      seen[name] = true
      out[#out + 1] = name
    end
  end
  local _, _, euid = core.ids()
  if euid ~= 0 and #out > 0 and not seen.user and not joining then
    table.insert(out, 1, "user")
    seen.user = true
  end
  return out, seen
end

local function check_name(value, key)
  check.text(value, key)
  if #value == 0 or #value > HOST_NAME_MAX then
    invalid("'%s' must be 1 to %d bytes, got %d", key, HOST_NAME_MAX, #value)
  end
  return value
end

local function ranges_overlap(a_start, a_count, b_start, b_count)
  return a_start < b_start + b_count and b_start < a_start + a_count
end

-- A uid_map or gid_map: {inside, outside, count} entries, positional or named.
local function check_id_map(list, key)
  local out = {}
  check.list(list, key)
  if #list > MAX_MAP_LINES then
    invalid("'%s' has %d ranges, the kernel takes at most %d", key, #list, MAX_MAP_LINES)
  end
  for i, entry in ipairs(list) do
    local where = ("%s[%d]"):format(key, i)
    check.type(entry, "table", where)
    local range = {
      inside = check.id(entry.inside or entry[1], where .. ".inside"),
      outside = check.id(entry.outside or entry[2], where .. ".outside"),
      count = check.integer(entry.count or entry[3], where .. ".count", 1, check.MAX_ID + 1),
    }
    -- The kernel sums them in 32 bits; bounded here, no sum below can wrap either.
    for _, side in ipairs { "inside", "outside" } do
      if range[side] + range.count - 1 > check.MAX_ID then
        invalid("'%s': %s ids %d to %d go past %d, the last id", where, side, range[side],
          range[side] + range.count - 1, check.MAX_ID)
      end
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

local function check_env(env)
  check.type(env, "table", "env")
  for name, value in pairs(env) do
    local where = check.key_path("env", name)
    if type(name) ~= "string" or name == "" or name:find("[=%z]") then
      invalid("'%s': variable names must be non-empty strings without '=' or NUL", where)
    end
    if value ~= false then
      if type(value) ~= "string" then
        invalid("'%s' must be a string, or false to unset it; got %s", where, type(value))
      end
      check.text(value, where)
    end
  end
  return env
end

local function check_argv(argv, where)
  argv = check.string_list(check.plain(argv, where), where)
  if #argv == 0 then invalid("'%s' must not be empty", where) end
  return argv
end
M.check_argv = check_argv

local needs = check.needs

local function validate_identity(t, r, has)
  for _, key in ipairs { "hostname", "domainname" } do
    if t[key] ~= nil then r[key] = check_name(t[key], key); needs(has, "uts", key) end
  end
  for _, key in ipairs { "uid_map", "gid_map" } do
    if t[key] ~= nil then r[key] = check_id_map(t[key], key); needs(has, "user", key) end
  end
  r.unprivileged = check.boolean(t, "unprivileged")
  if r.unprivileged then
    needs(has, "user", "unprivileged")
    if r.uid_map or r.gid_map then invalid("'unprivileged' chooses the id maps: leave out uid_map and gid_map") end
  end
  if t.setgroups ~= nil then
    if t.setgroups ~= "deny" and t.setgroups ~= "allow" then
      invalid("'setgroups' must be \"deny\" or \"allow\", got %s", tostring(t.setgroups))
    end
    needs(has, "user", "setgroups")
    r.setgroups = t.setgroups
  end
end

local function validate_command(t, r)
  if t.cwd ~= nil then r.cwd = check.absolute(t.cwd, "cwd") end
  if t.env ~= nil then r.env = check_env(t.env) end
  r.clearenv = check.boolean(t, "clearenv")
  r.new_session = check.boolean(t, "new_session")
  r.tty = check.boolean(t, "tty")
  if t.argv ~= nil then r.argv = check_argv(t.argv, "argv") end
  if t.argv0 ~= nil then r.argv0 = check.text(t.argv0, "argv0") end
  if t.log ~= nil and t.log ~= "debug" and t.log ~= "off" then
    invalid("'log' must be \"debug\" or \"off\", got %s", tostring(t.log))
  end
  r.log = t.log
end

-- The validated, normalized copy of a merged recipe table.
local function validate(t)
  local r = setmetatable({}, Recipe)
  local has
  r.namespaces, has = check_namespaces(t.namespaces or {}, t.join ~= nil)
  namespaces.validate(t, r, has)
  validate_identity(t, r, has)
  r.mounts = {}
  for i, entry in ipairs(check.list(t.mounts or {}, "mounts")) do
    r.mounts[i] = mounts.validate(entry, i)
    needs(has, "mount", ("mounts[%d]"):format(i))
  end
  r.loopback = check.boolean(t, "loopback")
  if r.loopback then needs(has, "net", "loopback") end
  validate_command(t, r)
  privileges.validate(t, r, has)
  rootfs.validate(t, r, has)
  network.validate(t, r, has)
  return r
end

-- A composed recipe's merged source table, so it can be a fragment again.
local SOURCES = setmetatable({}, { __mode = "k" })

local function merge_into(merged, fragment, i)
  fragment = SOURCES[fragment] or fragment
  if type(fragment) ~= "table" then invalid("fragment #%d must be a table, got %s", i, type(fragment)) end
  for key in next, fragment do
    if type(key) ~= "string" then invalid("fragment #%d: keys must be strings, got %s", i, check.shown(key)) end
  end
  fragment = check.plain(fragment, "")
  check.known_keys(fragment, KEYS)
  for key, value in pairs(fragment) do
    local how = KEYS[key]
    if how == "list" then
      local list = merged[key] or {}
      for _, item in ipairs(check.list(value, key)) do list[#list + 1] = item end
      merged[key] = list
    elseif how == "map" then
      local map = merged[key] or {}
      for name, v in pairs(check.type(value, "table", key)) do map[name] = v end
      merged[key] = map
    else
      merged[key] = value
    end
  end
end

-- The recipe of the fragments, or a check.Invalid raised: for nsbox's own callers.
function M.build(...)
  local merged, fragments = {}, table.pack(...)
  for i = 1, fragments.n do merge_into(merged, fragments[i], i) end
  local r = validate(merged)
  SOURCES[r] = merged
  return r
end

-- nsbox.recipe(fragment, ...) -> recipe. Later fragments win; lists append.
function M.compose(...)
  return check.refusing("nsbox.recipe: ", M.build, ...)
end

-- ---- compilation: recipe -> plan table for core.plan ----

local function map_text(ranges)
  local lines = {}
  for i, r in ipairs(ranges) do lines[i] = ("%d %d %d\n"):format(r.inside, r.outside, r.count) end
  return table.concat(lines)
end

local function has_namespace(r, name)
  for _, v in ipairs(r.namespaces) do if v == name then return true end end
  return false
end
M.has_namespace = has_namespace

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
  local names = check.sorted_names(r.env or {})
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

-- recipe -> plan: the ordered steps the child runs, with a description each;
-- nil, message, errno when a process the recipe joins is gone.
function M.compile(r)
  local steps = {}
  local function add(step) steps[#steps + 1] = step end
  local plan = { setgroups = r.setgroups, steps = steps, env = command_env(r), init = r.init,
    die_with_parent = r.die_with_parent, new_session = r.new_session, argv0 = r.argv0 }
  local ok, message, errno = namespaces.compile(r, plan, add)
  if not ok then return nil, message, errno end
  if has_namespace(r, "user") then
    local uid_map, gid_map = privileges.id_maps(r)
    plan.uid_map, plan.gid_map = map_text(uid_map), map_text(gid_map)
    privileges.namespace_root_step(r, add)
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
  rootfs.compile(r, add)
  if r.cwd then add { op = "chdir", desc = "change directory to " .. r.cwd, target = r.cwd } end
  privileges.compile(r, check.set_of(r.namespaces), add)
  return plan
end

return M
