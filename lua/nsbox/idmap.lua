-- nsbox.idmap: the concern of who is who in a new user namespace: its uid
-- and gid maps, setgroups, and `unprivileged`. The parent writes the maps
-- (csrc/spawn.c) from the text compiled here; nsbox.ns makes the child root
-- of the namespace, nsbox.privileges switches to the recipe's user.

local core = require "nsbox.core"
local check = require "nsbox.check"
local files = require "nsbox.files"

local invalid = check.invalid

local M = {}

local MAX_MAP_LINES = 340 -- the kernel's limit on uid_map and gid_map lines

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

function M.validate(t, r, has)
  for _, key in ipairs { "uid_map", "gid_map" } do
    if t[key] ~= nil then r[key] = check_id_map(t[key], key); check.needs(has, "user", key) end
  end
  r.unprivileged = check.boolean(t, "unprivileged")
  if r.unprivileged then
    check.needs(has, "user", "unprivileged")
    if r.uid_map or r.gid_map then invalid("'unprivileged' chooses the id maps: leave out uid_map and gid_map") end
  end
  if t.setgroups ~= nil then
    if t.setgroups ~= "deny" and t.setgroups ~= "allow" then
      invalid("'setgroups' must be \"deny\" or \"allow\", got %s", tostring(t.setgroups))
    end
    check.needs(has, "user", "setgroups")
    r.setgroups = t.setgroups
  end
end

-- The kernel's overflow id (nobody), which unmapped ids show as.
local function overflow_id(kind)
  return math.tointeger(tonumber(files.first_line("/proc/sys/kernel/overflow" .. kind))) or 65534
end

-- A new user namespace's uid and gid maps: the recipe's, or 0 inside mapped
-- to the caller's own ids; with `unprivileged`, a root caller's 0 inside is
-- nobody outside instead, so that root in the sandbox is not root on files.
function M.id_maps(r)
  if r.uid_map or r.gid_map then return r.uid_map, r.gid_map end
  local _, _, euid, egid = core.ids()
  if r.unprivileged and euid == 0 then euid, egid = overflow_id("uid"), overflow_id("gid") end
  return { { inside = 0, outside = euid, count = 1 } }, { { inside = 0, outside = egid, count = 1 } }
end

-- The id outside that id inside maps to, or nil.
function M.outside(map, id)
  for _, range in ipairs(map) do
    if id >= range.inside and id < range.inside + range.count then return range.outside + id - range.inside end
  end
end

local function map_text(ranges)
  local lines = {}
  for i, range in ipairs(ranges) do lines[i] = ("%d %d %d\n"):format(range.inside, range.outside, range.count) end
  return table.concat(lines)
end

-- What the parent writes to /proc/PID/uid_map, gid_map and setgroups.
function M.compile(r, plan)
  if not check.set_of(r.namespaces).user then return end
  local uid_map, gid_map = M.id_maps(r)
  plan.uid_map, plan.gid_map = map_text(uid_map), map_text(gid_map)
  plan.setgroups = r.setgroups
end

return M
