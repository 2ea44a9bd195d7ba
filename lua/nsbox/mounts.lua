-- nsbox.mounts: the `mounts` list of a recipe: validation of each entry and
-- the plan steps that carry it out, in the order given. Where a target
-- lands (under a rootfs or not) and whether its mount point may be created
-- is nsbox.rootfs's call, passed in as `at`.

local check = require "nsbox.check"

local invalid = check.invalid

local M = {}

local BIND = { source = true, readonly = true, optional = true, recursive = true }
local KEYS = {
  proc = { options = true, hidepid = true },
  tmpfs = { options = true, size = true, mode = true, uid = true, gid = true },
  bind = BIND, ro_bind = BIND, dev_bind = BIND,
  sysfs = { options = true },
  mqueue = { options = true },
  devpts = { options = true },
  dev = { tty = true },
  symlink = { source = true },
  dir = { mode = true },
  file = { content = true, mode = true },
  remount_ro = {},
  mount = { fstype = true, source = true, options = true },
}
for _, keys in pairs(KEYS) do keys.type, keys.target = true, true end
M.TYPES = check.sorted_names(KEYS)

-- The kinds that create what they name rather than mount something.
M.CREATES = check.set_of { "symlink", "dir", "file" }
-- The kinds whose mount is the recipe's own, so creating inside it leaves the host alone.
M.SCRATCH = check.set_of { "tmpfs", "dev" }
-- How many mounts of the sandbox's own each makes: a dev is a tmpfs with another at shm.
M.OWNED_MOUNTS = { tmpfs = 1, dev = 2 }

-- What the kernel takes for hidepid= (proc(5)).
local HIDEPID = check.set_of { 0, 1, 2, 4, "off", "noaccess", "invisible", "ptraceable" }

-- Options that change an existing mount rather than make one: nothing to create.
local CHANGES = check.set_of {
  "remount", "bind", "rbind", "move", "private", "rprivate", "slave", "rslave", "shared", "rshared",
  "unbindable", "runbindable",
}

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

-- An absolute path without "..": under a rootfs it must not climb out. Slashes are tidied.
function M.path(value, where)
  check.absolute(value, where)
  for part in value:gmatch("[^/]+") do
    if part == ".." then invalid("'%s' must not contain '..', got '%s'", where, value) end
  end
  return (value:gsub("/+", "/"):gsub("(.)/$", "%1"))
end

local function bind(entry, m, where)
  m.source = check.absolute(entry.source, where .. ".source")
  for _, flag in ipairs { "readonly", "optional", "recursive" } do
    m[flag] = check.boolean(entry, flag, where .. "." .. flag)
  end
  if m.type == "ro_bind" then m.type, m.readonly = "bind", true end
  if m.recursive == nil then m.recursive = true end
end

local function validate_kind(kind, entry, m, where)
  if kind == "tmpfs" then
    m.size = entry.size ~= nil and size(entry.size, where .. ".size") or nil
    m.mode = entry.mode ~= nil and check.mode(entry.mode, where .. ".mode") or nil
    m.uid = entry.uid ~= nil and check.id(entry.uid, where .. ".uid") or nil
    m.gid = entry.gid ~= nil and check.id(entry.gid, where .. ".gid") or nil
  elseif kind == "proc" and entry.hidepid ~= nil then
    if not HIDEPID[entry.hidepid] then
      invalid("'%s.hidepid' must be 0, 1, 2, 4, \"off\", \"noaccess\", \"invisible\" or \"ptraceable\", got %s",
        where, tostring(entry.hidepid))
    end
    m.hidepid = entry.hidepid
  elseif kind == "bind" or kind == "ro_bind" or kind == "dev_bind" then
    bind(entry, m, where)
  elseif kind == "symlink" then
    m.source = check.text(entry.source, where .. ".source")
    if m.source == "" then invalid("'%s.source' must not be empty", where) end
  elseif kind == "dir" or kind == "file" then
    m.mode = entry.mode ~= nil and check.mode(entry.mode, where .. ".mode") or nil
    if kind == "file" then m.content = check.text(entry.content or "", where .. ".content") end
  elseif kind == "dev" then
    m.tty = check.boolean(entry, "tty", where .. ".tty")
  elseif kind == "mount" then
    m.fstype = entry.fstype ~= nil and check.text(entry.fstype, where .. ".fstype") or nil
    m.source = entry.source ~= nil and check.text(entry.source, where .. ".source") or nil
  end
end

-- One entry of `mounts`, normalized.
function M.validate(entry, i)
  local where = ("mounts[%d]"):format(i)
  check.type(entry, "table", where)
  local kind = check.type(entry.type, "string", where .. ".type")
  if not KEYS[kind] then
    invalid("'%s.type': unknown mount type '%s'%s; known: %s", where, kind, check.suggestion(kind, M.TYPES),
      table.concat(M.TYPES, ", "))
  end
  check.known_keys(entry, KEYS[kind], where)
  local m = { type = kind, target = M.path(entry.target, where .. ".target") }
  m.options = options(entry.options, where .. ".options")
  validate_kind(kind, entry, m, where)
  return m
end

-- ---- compilation ----

local function with_options(base, m)
  return table.move(m.options or {}, 1, #(m.options or {}), #base + 1, base)
end

-- A step for the target of m (a path inside), placed by at.
local function placed(at, target, step, create)
  local full, base_len, may_create = at(target)
  step.target, step.base_len = full, base_len
  step.create = may_create and create or nil
  return step
end

local function filesystem(at, m, fstype, opts)
  return placed(at, m.target, { op = "mount", desc = ("mount %s on %s"):format(fstype, m.target),
    source = fstype, fstype = fstype, options = opts }, "dir")
end

local function tmpfs_options(m)
  local opts = with_options({ "nosuid", "nodev" }, m)
  if m.size then opts[#opts + 1] = "size=" .. m.size end
  if m.mode then opts[#opts + 1] = ("mode=%o"):format(m.mode) end
  if m.uid then opts[#opts + 1] = "uid=" .. m.uid end
  if m.gid then opts[#opts + 1] = "gid=" .. m.gid end
  return opts
end

local function bind_step(at, m)
  local devices = m.type == "dev_bind"
  return placed(at, m.target, { op = "bind", source = m.source, recursive = m.recursive,
    readonly = m.readonly, optional = m.optional, options = not devices and { "nodev" } or nil,
    desc = ("%s %s%s on %s"):format(devices and "dev_bind" or "bind", m.source,
      m.readonly and " read-only" or "", m.target) }, "like_source")
end

local DEVPTS_DEFAULT = { "newinstance", "ptmxmode=0666", "mode=0620" }

local function devpts(at, m)
  local opts = with_options({ "nosuid", "noexec" }, m.options and m or { options = DEVPTS_DEFAULT })
  return filesystem(at, m, "devpts", opts)
end

-- The nodes a minimal /dev binds from the host's: binding is allowed in a
-- user namespace where mknod is not. /dev/tty only when asked (tty = true):
-- it is the caller's terminal for a command in the caller's session.
local DEV_NODES = { "null", "zero", "full", "random", "urandom" }
local DEV_LINKS = {
  { "ptmx", "pts/ptmx" }, { "fd", "/proc/self/fd" },
  { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
}

local function minimal_dev(at, m, add)
  local dir = m.target == "/" and "" or m.target
  add(filesystem(at, m, "tmpfs", { "nosuid", "noexec", "mode=755" }))
  local nodes = table.move(DEV_NODES, 1, #DEV_NODES, 1, {})
  if m.tty then nodes[#nodes + 1] = "tty" end
  for _, node in ipairs(nodes) do
    add(placed(at, dir .. "/" .. node, { op = "bind", source = "/dev/" .. node, recursive = false,
      desc = ("dev_bind /dev/%s on %s/%s"):format(node, dir, node) }, "file"))
  end
  add(devpts(at, { target = dir .. "/pts" }))
  for _, link in ipairs(DEV_LINKS) do
    add(placed(at, dir .. "/" .. link[1], { op = "symlink", source = link[2],
      desc = ("symlink %s/%s -> %s"):format(dir, link[1], link[2]) }))
  end
  add(filesystem(at, { target = dir .. "/shm" }, "tmpfs", { "nosuid", "nodev", "mode=1777" }))
end

local function generic(at, m)
  local opts, creates = m.options or {}, true
  for _, word in ipairs(opts) do
    if CHANGES[word] then creates = false end
  end
  local what = m.fstype or m.source or "none"
  return placed(at, m.target, { op = "mount", fstype = m.fstype, source = m.source or m.fstype, options = opts,
    desc = ("mount %s on %s%s"):format(what, m.target, #opts > 0 and (" (" .. table.concat(opts, ",") .. ")") or "") },
    creates and "dir" or nil)
end

local function creation(at, m)
  if m.type == "dir" then
    return placed(at, m.target, { op = "mkdir", mode = m.mode or 493, desc = "create directory " .. m.target })
  elseif m.type == "file" then
    return placed(at, m.target, { op = "write_file", source = m.content, mode = m.mode or 420,
      desc = "write file " .. m.target })
  end
  return placed(at, m.target, { op = "symlink", source = m.source,
    desc = ("symlink %s -> %s"):format(m.target, m.source) })
end

-- The plan steps of a normalized mount, given to add. at(target) -> the
-- path to use, the length of its trusted base, and whether missing mount
-- points may be created.
function M.steps(m, at, add)
  local kind = m.type
  if kind == "proc" then
    local opts = with_options({ "nosuid", "nodev", "noexec" }, m)
    if m.hidepid then opts[#opts + 1] = "hidepid=" .. m.hidepid end
    add(filesystem(at, m, "proc", opts))
  elseif kind == "tmpfs" then
    add(filesystem(at, m, "tmpfs", tmpfs_options(m)))
  elseif kind == "sysfs" then
    add(filesystem(at, m, "sysfs", with_options({ "ro", "nosuid", "nodev", "noexec" }, m)))
  elseif kind == "mqueue" then
    add(filesystem(at, m, "mqueue", with_options({ "nosuid", "nodev", "noexec" }, m)))
  elseif kind == "devpts" then
    add(devpts(at, m))
  elseif kind == "dev" then
    minimal_dev(at, m, add)
  elseif kind == "remount_ro" then
    add(placed(at, m.target, { op = "remount_ro", desc = ("remount %s read-only"):format(m.target) }))
  elseif kind == "mount" then
    add(generic(at, m))
  elseif M.CREATES[kind] then
    add(creation(at, m))
  else
    add(bind_step(at, m))
  end
end

return M
