-- nsbox.rootfs: the concern of the tree the command sees: a root directory
-- to pivot into, the recipe's mounts placed under it (nsbox.mounts checks
-- and compiles each entry), masked and read-only paths, sysctls. One
-- concern, since where a mount lands depends on the rootfs and on the
-- scratch mounts before it.
--
-- Every target under a rootfs is resolved inside it, its symlinks too, as
-- the command will see it. The host's files never change: what is created
-- (mount points, directories, files, symlinks) is created along real
-- directories only, and the child checks that each lands on a mount the
-- sandbox made: the rootfs's own bind, or a tmpfs or dev of the recipe's
-- (without a rootfs, validation already requires one above the target).
-- A rootfs that is the host's / is refused.

local check = require "nsbox.check"
local core = require "nsbox.core"
local mounts = require "nsbox.mounts"

local invalid = check.invalid

local M = {}

local PROPAGATION = check.set_of { "private", "slave", "shared" }

-- A recipe fragment: the kernel's interfaces read-only and its secrets
-- masked, the paths OCI runtimes protect by default (crun's readonlyPaths
-- and maskedPaths, plus /sys); missing ones are skipped.
M.PROTECT_KERNEL = {
  readonly = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", "/sys" },
  masked = { "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap" },
}

local needs = check.needs

-- The namespace a sysctl belongs to, or nil: the others are the host's,
-- and writing them would change it for everyone.
local function sysctl_namespace(name)
  if name:match("^kernel%.shm") or name:match("^kernel%.msg") or name == "kernel.sem"
    or name:match("^fs%.mqueue%.") then
    return "ipc"
  elseif name:match("^net%.") then
    return "net"
  elseif name == "kernel.hostname" or name == "kernel.domainname" then
    return "uts"
  end
end

local function has_proc(list)
  for _, m in ipairs(list) do
    if m.type == "proc" and m.target == "/proc" then return true end
  end
  return false
end

local function validate_sysctl(map, r, has)
  local out = {}
  for name, value in pairs(check.type(map, "table", "sysctl")) do
    if type(name) ~= "string" or not name:match("^[%w_%-]+%.[%w_%-%.]+$") or name:find("%.%.") then
      invalid("sysctl: '%s' is not a sysctl name like \"net.ipv4.ip_forward\"", tostring(name))
    end
    local where = "sysctl." .. name
    local namespace = sysctl_namespace(name)
    if not namespace then
      invalid("'%s' is not namespaced: only kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*, net.*, "
        .. "kernel.hostname and kernel.domainname can be set for one sandbox", where)
    end
    needs(has, namespace, where)
    if math.type(value) == "integer" then value = tostring(value) end
    check.text(value, where)
    out[name] = value
  end
  if next(out) and not has_proc(r.mounts) then
    invalid("'sysctl' needs the sandbox's own /proc: add { type = \"proc\", target = \"/proc\" } to mounts")
  end
  return out
end

local function under(path, base)
  if base == "/" then return path ~= "/" end
  return path:sub(1, #base + 1) == base .. "/"
end

-- The scratch mounts (tmpfs, dev) among mounts, seen in order: whatever a
-- recipe creates inside one leaves the host's files alone. holding(target)
-- is the innermost one seen so far that holds target, or nil.
local function scratch_mounts()
  local scratch = {}
  local function holding(target)
    for i = #scratch, 1, -1 do
      if under(target, scratch[i]) then return scratch[i] end
    end
  end
  local function saw(m)
    if mounts.SCRATCH[m.type] then scratch[#scratch + 1] = m.target end
  end
  return holding, saw
end

-- Without a rootfs, what a recipe creates must lie in a scratch mount of its own.
local function check_creations(list)
  local holding, saw = scratch_mounts()
  for i, m in ipairs(list) do
    if mounts.CREATES[m.type] and not holding(m.target) then
      invalid("'mounts[%d].target': without rootfs, a %s must lie under a tmpfs or dev mounted earlier in "
        .. "mounts, so that the host's files never change; got '%s'", i, m.type, m.target)
    end
    saw(m)
  end
end

local function path_list(list, key)
  return check.list_of(list, key, mounts.path)
end

-- The kernel lets sysfs be mounted only by who is privileged over the
-- current net namespace: from a new user namespace, that is a new one.
local function check_sysfs(list, has)
  for i, m in ipairs(list) do
    if m.type == "sysfs" and has.user and not has.net then
      invalid("'mounts[%d]': sysfs in a new user namespace needs the 'net' namespace too "
        .. "(add \"net\" to namespaces)", i)
    end
  end
end

-- The child keeps the ids of the mounts the sandbox owns in a fixed array.
local function check_owned_count(r)
  local owned = r.rootfs and 1 or 0
  for _, m in ipairs(r.mounts) do owned = owned + (mounts.OWNED_MOUNTS[m.type] or 0) end
  if owned > core.MAX_OWNED_MOUNTS then
    invalid("'mounts': at most %d tmpfs and dev mounts (a dev counts twice, the rootfs once), got %d",
      core.MAX_OWNED_MOUNTS, owned)
  end
end

local function validate_mounts(list, has)
  local out = {}
  for i, entry in ipairs(check.list(list, "mounts")) do
    out[i] = mounts.validate(entry, i)
    needs(has, "mount", ("mounts[%d]"):format(i))
  end
  check_sysfs(out, has)
  return out
end

function M.validate(t, r, has)
  r.mounts = validate_mounts(t.mounts or {}, has)
  if t.rootfs ~= nil then
    r.rootfs = mounts.path(t.rootfs, "rootfs")
    if core.same_file(r.rootfs, "/") then
      invalid("'rootfs' must not be the host's root directory ('%s' is /): what the sandbox creates in its "
        .. "rootfs would change the host's files", r.rootfs)
    end
    needs(has, "mount", "rootfs")
    -- The command starts in the new root unless the recipe says where (nsbox.exec's cwd).
    if t.cwd == nil then r.cwd = "/" end
  else
    check_creations(r.mounts)
  end
  check_owned_count(r)
  for _, key in ipairs { "rootfs_readonly", "chroot", "pause_before_root" } do
    r[key] = check.boolean(t, key)
    if r[key] ~= nil and not r.rootfs then invalid("'%s' needs 'rootfs'", key) end
  end
  if t.propagation ~= nil then
    if not PROPAGATION[t.propagation] then
      invalid("'propagation' must be \"private\", \"slave\" or \"shared\", got %s", tostring(t.propagation))
    end
    needs(has, "mount", "propagation")
    r.propagation = t.propagation
  end
  for _, key in ipairs { "masked", "readonly" } do
    if t[key] ~= nil then r[key] = path_list(t[key], key); needs(has, "mount", key) end
  end
  if t.sysctl ~= nil then r.sysctl = validate_sysctl(t.sysctl, r, has) end
end

-- Whether the recipe makes anything read-only or masked: what CAP_SYS_ADMIN
-- could undo with a remount or an unmount.
function M.protects(r)
  if r.rootfs_readonly or r.readonly or r.masked then return true end
  for _, m in ipairs(r.mounts) do
    if m.readonly or m.type == "remount_ro" or m.type == "sysfs" then return true end
    for _, word in ipairs(m.options or {}) do
      for option in word:gmatch("[^,]+") do
        if option == "ro" then return true end
      end
    end
  end
  return false
end

-- ---- compilation ----

-- at(target) for nsbox.mounts: the full path, the length of its base (the
-- innermost scratch mount made before holding it, else the rootfs; saw
-- records them) and whether it may be created: with a rootfs, every target
-- may, without one only those inside a scratch mount. The child resolves
-- the base inside the rootfs and creates only on mounts the sandbox made.
local function placer(root)
  local holding, saw = scratch_mounts()
  local prefix = root or ""
  local function at(target)
    local base = holding(target)
    if base then return prefix .. target, #prefix + #base, true end
    if root then return prefix .. (target == "/" and "" or target), #prefix, true end
    return target, 0, false
  end
  return at, saw
end

local function hardening_steps(r, at, add)
  for _, name in ipairs(check.sorted_names(r.sysctl or {})) do
    add { op = "sysctl", target = (at("/proc/sys/" .. name:gsub("%.", "/"))), source = r.sysctl[name],
      desc = ("set sysctl %s to %s"):format(name, r.sysctl[name]) }
  end
  -- Without a source, a bind clones its target, resolved inside the root.
  for _, path in ipairs(r.readonly or {}) do
    add { op = "bind", target = (at(path)), recursive = true, readonly = true, optional = true,
      desc = ("make %s read-only"):format(path) }
  end
  for _, path in ipairs(r.masked or {}) do
    add { op = "mask", source = "/dev/null", target = (at(path)), desc = "mask " .. path }
  end
end

-- pause_before_root: the child waits there, its namespaces and mounts made, while the spawn's options.paused
-- runs (the OCI runtime's createRuntime and createContainer hooks, which the spec places before pivot_root).
local function enter_root(r, add)
  local root = r.rootfs
  if r.pause_before_root then
    add { op = "pause", desc = ("wait for the caller before entering the root %s"):format(root) }
  end
  if r.chroot then
    add { op = "chroot", target = root, desc = ("chroot into %s (chroot = true)"):format(root) }
  else
    add { op = "pivot_root", target = root, desc = ("pivot_root into %s"):format(root) }
  end
end

-- The steps, in order: the rootfs bound onto itself (pivot_root needs a
-- mount point), the mounts, network.dns's resolv.conf, sysctls, read-only and masked paths, the switch
-- of root, then the changes to the new root as a whole.
--
-- Every step placed under the rootfs resolves its target inside it
-- (root_len); the rootfs bind and the tmpfs of tmpfs and dev mounts are the
-- sandbox's own (owned), the only mounts the child creates anything in.
function M.compile(r, _, add)
  local root = r.rootfs
  if root then
    add { op = "bind", source = root, target = root, recursive = true, owned = true,
      desc = ("bind the rootfs %s onto itself"):format(root) }
  end
  local root_len = root and #root
  local function add_inside(step)
    step.root_len, step.base_len = root_len, step.base_len or root_len
    add(step)
  end
  local at, saw = placer(root)
  for _, m in ipairs(r.mounts) do
    saw(m)
    mounts.steps(m, at, function(step)
      step.owned = mounts.SCRATCH[m.type] and step.fstype == "tmpfs" or nil
      add_inside(step)
    end)
  end
  local resolv, message
  if r.network then resolv, message = require("nsbox.network").resolv_mount(r) end
  if message then return nil, message end
  if resolv then mounts.steps(resolv, at, add_inside) end
  hardening_steps(r, at, add_inside)
  if root then enter_root(r, add) end
  if r.propagation then
    add { op = "mount", target = "/", options = { "rec", r.propagation },
      desc = ("make / %s (recursive)"):format(r.propagation) }
  end
  if r.rootfs_readonly then add { op = "remount_ro", target = "/", desc = "remount / read-only" } end
end

return M
