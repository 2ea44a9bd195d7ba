-- nsbox.runtime_config: what `nsbox spec` writes (a starter config.json that
-- nsbox runs as it is, like `runc spec`'s) and what `nsbox features` prints
-- (runc 1.1's features JSON: what this runtime can do).

local core = require "nsbox.core"
local oci = require "nsbox.oci"
local S = require "nsbox.runtime_state"

local M = {}

local CAPS = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" }
local NO_EXEC = { "nosuid", "noexec", "nodev" }

-- rootless: a user namespace of its own (nsbox maps the caller to root in
-- it), no gid=5 for devpts, and no cgroup mount, which would need a cgroup
-- namespace that the caller may not be able to make.
function M.starter(rootless)
  local namespaces = { { type = "pid" }, { type = "network" }, { type = "ipc" }, { type = "uts" }, { type = "mount" } }
  local mounts = {
    { destination = "/proc", type = "proc", source = "proc" },
    { destination = "/dev", type = "tmpfs", source = "tmpfs", options = { "nosuid", "strictatime", "mode=755",
      "size=65536k" } },
    { destination = "/dev/pts", type = "devpts", source = "devpts", options = { "nosuid", "noexec", "newinstance",
      "ptmxmode=0666", "mode=0620", not rootless and "gid=5" or nil } },
    { destination = "/dev/shm", type = "tmpfs", source = "shm", options = { "nosuid", "noexec", "nodev", "mode=1777",
      "size=65536k" } },
    { destination = "/dev/mqueue", type = "mqueue", source = "mqueue", options = NO_EXEC },
    { destination = "/sys", type = "sysfs", source = "sysfs", options = { "nosuid", "noexec", "nodev", "ro" } },
  }
  if rootless then
    namespaces[#namespaces + 1] = { type = "user" }
  else
    mounts[#mounts + 1] = { destination = "/sys/fs/cgroup", type = "cgroup", source = "cgroup",
      options = { "nosuid", "noexec", "nodev", "relatime", "ro" } }
  end
  return {
    ociVersion = "1.0.0",
    process = { terminal = true, user = { uid = 0, gid = 0 }, args = { "sh" },
      env = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm" }, cwd = "/",
      capabilities = { bounding = CAPS, effective = CAPS, inheritable = CAPS, permitted = CAPS, ambient = CAPS },
      rlimits = { { type = "RLIMIT_NOFILE", hard = 1024, soft = 1024 } }, noNewPrivileges = true },
    root = { path = "rootfs", readonly = true },
    hostname = "nsbox",
    mounts = mounts,
    linux = {
      resources = { devices = { { allow = false, access = "rwm" } } },
      namespaces = namespaces,
      maskedPaths = { "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi" },
      readonlyPaths = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" },
    },
  }
end

local function upper_caps()
  local caps = {}
  for i, name in ipairs(core.cap_names()) do caps[i] = name:upper() end
  return caps
end

function M.features()
  return {
    ociVersionMin = "1.0.0",
    ociVersionMax = require("nsbox.runtime").SPEC_VERSION,
    hooks = require("nsbox.runtime_hooks").NAMES,
    mountOptions = oci.MOUNT_OPTIONS,
    linux = {
      namespaces = { "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts" },
      capabilities = upper_caps(),
      cgroup = { v1 = true, v2 = true, systemd = false, systemdUser = false },
      seccomp = { enabled = false },
      apparmor = { enabled = false },
      selinux = { enabled = false },
    },
    annotations = { ["org.nsbox.version"] = require("nsbox").VERSION },
  }
end

-- JSON text indented like runc's (keys sorted; no empty arrays are written here).
function M.pretty(value, indent)
  indent = indent or ""
  if type(value) ~= "table" then return S.encode(value) end
  local inner, items = indent .. "    ", {}
  if #value > 0 then
    for i, v in ipairs(value) do items[i] = inner .. M.pretty(v, inner) end
    return "[\n" .. table.concat(items, ",\n") .. "\n" .. indent .. "]"
  end
  local keys = {}
  for k in pairs(value) do keys[#keys + 1] = k end
  table.sort(keys)
  for i, k in ipairs(keys) do items[i] = inner .. S.encode(k) .. ": " .. M.pretty(value[k], inner) end
  return "{\n" .. table.concat(items, ",\n") .. "\n" .. indent .. "}"
end

return M
