-- nsbox.mounts: the `mounts` list of a recipe: validation of each entry and
-- the plan steps that carry it out, in the order given.

local check = require "nsbox.check"

local invalid = check.invalid

local M = {}

local KEYS = {
  proc = { type = true, target = true, options = true },
  tmpfs = { type = true, target = true, options = true, size = true, mode = true },
  bind = { type = true, target = true, source = true, readonly = true, optional = true, recursive = true },
}
KEYS.ro_bind = KEYS.bind
local TYPES = check.sorted_names(KEYS)

local function size(value, where)
  local ok = (math.type(value) == "integer" and value > 0)
    or (type(value) == "string" and value:match("^%d+[kKmMgG%%]?$"))
  if not ok then
    invalid("'%s' must be a byte count or a string like \"64m\" or \"50%%\", got %s", where, tostring(value))
  end
  return tostring(value)
end

local function options(value, where)
  if value == nil then return nil end
  if type(value) == "string" then return { value } end
  return check.string_list(value, where)
end

local function bind(entry, m, where)
  m.source = check.absolute(entry.source, where .. ".source")
  for _, flag in ipairs { "readonly", "optional", "recursive" } do
    m[flag] = check.boolean(entry, flag, where .. "." .. flag)
  end
  if m.type == "ro_bind" then m.type, m.readonly = "bind", true end
  if m.recursive == nil then m.recursive = true end
end

-- One entry of `mounts`, normalized.
function M.validate(entry, i)
  local where = ("mounts[%d]"):format(i)
  check.type(entry, "table", where)
  local kind = check.type(entry.type, "string", where .. ".type")
  if not KEYS[kind] then
    invalid("'%s.type': unknown mount type '%s'%s; known: %s", where, kind, check.suggestion(kind, TYPES),
      table.concat(TYPES, ", "))
  end
  check.known_keys(entry, KEYS[kind], where)
  local m = { type = kind, target = check.absolute(entry.target, where .. ".target") }
  m.options = options(entry.options, where .. ".options")
  if kind == "tmpfs" then
    m.size = entry.size ~= nil and size(entry.size, where .. ".size") or nil
    m.mode = entry.mode ~= nil and check.mode(entry.mode, where .. ".mode") or nil
  elseif kind == "bind" or kind == "ro_bind" then
    bind(entry, m, where)
  end
  return m
end

local function with_options(base, m)
  return table.move(m.options or {}, 1, #(m.options or {}), #base + 1, base)
end

-- The plan step of a normalized mount.
function M.step(m)
  if m.type == "proc" then
    return { op = "mount", desc = "mount proc on " .. m.target, source = "proc", fstype = "proc",
      target = m.target, options = with_options({ "nosuid", "nodev", "noexec" }, m) }
  elseif m.type == "tmpfs" then
    local opts = with_options({ "nosuid", "nodev" }, m)
    if m.size then opts[#opts + 1] = "size=" .. m.size end
    if m.mode then opts[#opts + 1] = ("mode=%o"):format(m.mode) end
    return { op = "mount", desc = "mount tmpfs on " .. m.target, source = "tmpfs", fstype = "tmpfs",
      target = m.target, options = opts }
  end
  return { op = "bind", source = m.source, target = m.target, recursive = m.recursive,
    readonly = m.readonly, optional = m.optional,
    desc = ("bind %s%s on %s"):format(m.source, m.readonly and " read-only" or "", m.target) }
end

return M
