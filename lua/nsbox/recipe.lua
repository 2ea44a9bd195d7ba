-- nsbox.recipe: compose recipe fragments, validate every key, compile to a plan.
--
-- A recipe is plain data. Everything that can be wrong with it is found here,
-- in the parent, before any process is cloned; the plan this module produces
-- (a Lua table: settings and the ordered steps the child runs) is what
-- core.plan copies into the C arena the child executes (csrc/plan.c).
--
-- This module only orchestrates. CONCERNS below lists the concerns of a
-- recipe in the order their steps run, each with the keys it owns; each is
-- a module with one interface:
--
--   M.validate(t, r, has)
--       t: the merged recipe table, read raw (check.plain); r: the recipe
--       being built, where it writes its keys, checked and normalized; has:
--       the set of namespaces the recipe creates (nsbox.ns, first, fills it).
--       Refuses with check.invalid("'key.sub' ...: reason"), naming the key.
--   M.compile(r, plan, add)
--       add{op=, desc=, ...} appends a step for the child (op: a step of
--       csrc/plan.c; desc: what the debug log and an error message say); it
--       may set fields of plan that csrc/plan.c reads. Returns nothing, or
--       nil, message, errno when the host does not allow the plan (a process
--       to join is gone).
--
-- Validation runs in the same order, so a concern may read what an earlier
-- one wrote into r.

local check = require "nsbox.check"

local invalid = check.invalid

local M = {}

local Recipe = { __name = "nsbox.recipe" }
Recipe.__index = Recipe
M.Recipe = Recipe

-- Each concern: its module's name, the keys it owns and how fragments
-- combine each (the later fragment's value wins, lists append, maps merge
-- key by key), and whether it is on demand: loaded only for a recipe that
-- sets one of its keys, which its validate and compile need to do anything,
-- so that a recipe pays for loading no more than it uses.
local CONCERNS = {
  -- namespaces, join, time; then root of the user namespace, / private, lo up
  { "ns", { namespaces = "list", join = "value", time = "value", loopback = "value" } },
  -- cgroup: limits, made by the parent; the cgroup namespace unshared after placement
  { "cgroups", { cgroup = "value" }, on_demand = true },
  { "hostname", { hostname = "value", domainname = "value" } },
  -- written by the parent
  { "idmap", { uid_map = "list", gid_map = "list", setgroups = "value", unprivileged = "value" } },
  -- veth, slirp4netns, pasta: set up by the parent while the child waits
  { "network", { network = "value" }, on_demand = true },
  { "rootfs", { mounts = "list", rootfs = "value", rootfs_readonly = "value", chroot = "value", propagation = "value",
    masked = "list", readonly = "list", sysctl = "map", pause_before_root = "value" } },
  { "exec", { argv = "value", argv0 = "value", env = "map", clearenv = "value", cwd = "value", new_session = "value",
    tty = "value", log = "value" } },
  { "privileges", { caps = "value", no_new_privs = "value", user = "value", rlimits = "map", init = "value",
    die_with_parent = "value", umask = "value" } },
  -- the system-call filter, installed last, just before exec
  { "seccomp", { seccomp = "value" }, on_demand = true },
}

-- Every key a recipe may have, and how fragments combine it.
local KEYS = {}
for _, concern in ipairs(CONCERNS) do
  for key, how in pairs(concern[2]) do
    assert(not KEYS[key], key) -- each key has one owner
    KEYS[key] = how
  end
end

-- The concern's module, when t (a recipe's table or a validated recipe) needs it.
local function module_for(concern, t)
  if concern.on_demand then
    local used = false
    for key in pairs(concern[2]) do used = used or rawget(t, key) ~= nil end
    if not used then return nil end
  end
  return require("nsbox." .. concern[1])
end

-- The validated, normalized copy of a merged recipe table.
local function validate(t)
  local r, has = setmetatable({}, Recipe), {}
  for _, concern in ipairs(CONCERNS) do
    local module = module_for(concern, t)
    if module then module.validate(t, r, has) end
  end
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

-- recipe -> plan: the settings and the ordered steps the child runs, each
-- described; nil, message, errno when a process the recipe joins is gone.
function M.compile(r)
  local steps = {}
  local function add(step) steps[#steps + 1] = step end
  local plan = { steps = steps }
  for _, concern in ipairs(CONCERNS) do
    local module = module_for(concern, r)
    local _, message, errno
    if module then _, message, errno = module.compile(r, plan, add) end
    if message then return nil, message, errno end
  end
  return plan
end

return M
