-- nsbox.oci: OCI bundles' config.json as recipe tables, and recipes/oci.lua
-- running them. The fixtures are config.json files as `crun spec`, `crun spec
-- --rootless` and `runc spec` write them (see spec/fixtures/oci/README.md).
local cjson = require "cjson"
local nsbox = require "nsbox"
local check = require "nsbox.check"
local oci = require "nsbox.oci"
local cgroups = require "nsbox.cgroups"
local H = require "helpers"

local FIXTURES = "spec/fixtures/oci/"
local BUNDLE = "/bundles/box" -- translation is data: the bundle need not exist

-- A generated config, with its terminal turned off: all three generators
-- turn it on, which the translations below leave aside.
local function fixture(name)
  local text = H.slurp(FIXTURES .. name .. "/config.json")
  local config = cjson.decode(text)
  config.process.terminal = false
  return config
end

-- ---- expected translations ----

local CAPS = { "cap_audit_write", "cap_kill", "cap_net_bind_service" }

local function crun_recipe()
  return {
    namespaces = { "pid", "net", "ipc", "uts", "mount" },
    rootfs = BUNDLE .. "/rootfs",
    rootfs_readonly = true,
    hostname = "crun",
    argv = { "sh" },
    clearenv = true,
    env = { PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", TERM = "xterm" },
    cwd = "/",
    user = { uid = 0, gid = 0 },
    -- inheritable is empty while the others are not: keep would not mean the same.
    -- ambient narrowed to what is also inheritable (nothing here), as the kernel and crun do
    caps = { bounding = CAPS, effective = CAPS, permitted = CAPS, inheritable = {}, ambient = {} },
    rlimits = { nofile = { 1024, 1024 } },
    no_new_privs = true,
    mounts = {
      { type = "proc", target = "/proc" },
      { type = "dev", target = "/dev", tty = true },
      { type = "devpts", target = "/dev/pts",
        options = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" } },
      { type = "tmpfs", target = "/dev/shm", mode = "1777", size = "65536k",
        options = { "nosuid", "noexec", "nodev" } },
      { type = "mqueue", target = "/dev/mqueue" },
      { type = "mount", target = "/dev/mqueue", options = { "remount", "bind", "nosuid", "noexec", "nodev" } },
      { type = "sysfs", target = "/sys" },
      { type = "mount", target = "/sys", options = { "remount", "bind", "nosuid", "noexec", "nodev", "ro" } },
      { type = "mount", fstype = "cgroup2", source = "cgroup", target = "/sys/fs/cgroup",
        options = { "nosuid", "noexec", "nodev", "relatime", "ro" } },
    },
    masked = { "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
      "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi" },
    readonly = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" },
  }
end

local function rootless_recipe()
  local r = crun_recipe()
  r.namespaces = { "pid", "net", "ipc", "uts", "user", "mount" }
  r.mounts[3].options = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620" }
  return r
end

local function runc_recipe()
  local r = crun_recipe()
  r.hostname = "runc"
  return r
end

local function translated(name)
  return oci.translate(fixture(name), BUNDLE)
end

local function translate(config, bundle)
  return oci.translate(cjson.decode(config), bundle or BUNDLE)
end

-- Translation is data, but for device rules: they go to a device cgroup where the host lets the
-- caller make one. These specs choose the host.
local NO_DEVICE_CGROUP = "devices need cgroup v1's devices controller (cgroup v2 controls devices with an eBPF "
  .. "program, which nsbox does not load); this host has cgroup v2 at /sys/fs/cgroup delegating memory, pids"
local function host_with_device_cgroup(possible)
  local real = cgroups.devices_possible
  before_each(function()
    cgroups.devices_possible = function() return possible, not possible and NO_DEVICE_CGROUP or nil end
  end)
  after_each(function() cgroups.devices_possible = real end)
end

-- The rules crun adds after a config's own.
local CRUN_DEVICES = { "allow c *:* m", "allow b *:* m", "allow c 1:3 rwm", "allow c 1:8 rwm", "allow c 1:7 rwm",
  "allow c 5:0 rwm", "allow c 1:5 rwm", "allow c 1:9 rwm", "allow c 5:1 rwm", "allow c 136:* rwm", "allow c 5:2 rwm" }

describe("oci.translate of generated configs", function()
  host_with_device_cgroup(false)

  it("turns `crun spec` into the recipe it describes", function()
    assert.same(crun_recipe(), translated("crun"))
  end)

  it("turns `crun spec --rootless` into the same in a user namespace", function()
    assert.same(rootless_recipe(), translated("crun-rootless"))
  end)

  it("turns `runc spec` into the same, an absent inheritable set being empty", function()
    assert.same(runc_recipe(), translated("runc"))
  end)
end)

describe("oci.translate of generated configs, where the caller may make a v1 device cgroup", function()
  host_with_device_cgroup(true)

  it("puts the deny-all rule in the cgroup key, followed by crun's default devices", function()
    local r = crun_recipe()
    r.cgroup = { limits = { devices = { "deny a", table.unpack(CRUN_DEVICES) } } }
    assert.same(r, translated("crun"))
  end)
end)

describe("oci.translate of linux.resources and linux.cgroupsPath", function()
  host_with_device_cgroup(true)

  it("fills the cgroup key: crun's file values, each limit once", function()
    local r = translate [[{ "linux": { "cgroupsPath": "/box/ctr", "resources": {
      "memory": { "limit": 67108864, "swap": 134217728, "reservation": 33554432, "disableOOMKiller": false },
      "cpu": { "shares": 1024, "quota": 50000, "period": 100000, "cpus": "0", "mems": "" },
      "pids": { "limit": 64 },
      "blockIO": { "weight": 500, "throttleReadBpsDevice": [ { "major": 8, "minor": 0, "rate": 1048576 } ],
        "throttleWriteIOPSDevice": [ { "major": 8, "minor": 0, "rate": 10 } ] },
      "hugepageLimits": [ { "pageSize": "2MB", "limit": 0 } ],
      "unified": { "memory.high": "50000000" },
      "devices": [ { "allow": false, "access": "rwm" },
        { "allow": true, "type": "c", "major": 10, "minor": 200, "access": "rwm" },
        { "allow": false, "type": "b", "major": 8, "access": "w" } ] } } }]]
    assert.same({ path = "/box/ctr", unified = { ["memory.high"] = "50000000" }, limits = {
      memory = 64 << 20, memory_swap = 128 << 20, memory_reservation = 32 << 20, cpu_shares = 1024,
      cpu = { quota = 50000, period = 100000 }, cpuset = "0", pids = 64, blkio_weight = 500,
      io_max = { ["8:0"] = { rbps = 1048576, wiops = 10 } }, hugetlb = { ["2MB"] = 0 },
      devices = { "deny a", "allow c 10:200 rwm", "deny b 8:* w", table.unpack(CRUN_DEVICES) },
    } }, r.cgroup)
    assert.equal("integer", math.type(r.cgroup.limits.memory))
  end)

  it("reads zeros and -1 as limits not set, as runtimes do, and allow-all as no rule", function()
    local r = translate [[{ "linux": { "resources": { "memory": { "limit": -1, "swap": -1 }, "pids": { "limit": 0 },
      "cpu": { "shares": 0, "quota": -1, "period": 0, "cpus": "" }, "blockIO": { "weight": 0 },
      "devices": [ { "allow": true, "access": "rwm" } ] } } }]]
    assert.is_nil(r.cgroup)
    r = translate [[{ "linux": { "cgroupsPath": "ctr", "resources": { "cpu": { "period": 50000 } } } }]]
    assert.same({ path = "ctr", limits = { cpu = { period = 50000 } } }, r.cgroup)
  end)

  it("for a caller that makes no cgroups (the runtime's --cgroup-manager=disabled), refuses limits and keeps the "
    .. "deny-all rule as a no-op",
    function()
      assert.same(crun_recipe(), oci.translate(fixture("crun"), BUNDLE, { cgroups = false }))
      local c = fixture("crun")
      c.linux.resources.pids = { limit = 64 }
      assert.equal("nsbox.oci: unsupported field 'linux.resources' (its caller makes no cgroups)",
        select(2, pcall(oci.translate, c, BUNDLE, { cgroups = false })))
    end)

  it("turns podman's memory, memory+swap and pids limits into a recipe this host takes", function()
    local r = translate [[{ "linux": { "resources": { "memory": { "limit": 67108864, "swap": 134217728 },
      "pids": { "limit": 2048 }, "devices": [ { "allow": false, "access": "rwm" } ] } } }]]
    assert.same({ memory = 64 << 20, memory_swap = 128 << 20, pids = 2048,
      devices = { "deny a", table.unpack(CRUN_DEVICES) } }, r.cgroup.limits)
    if H.root then assert.is_table(nsbox.recipe(r).cgroup) end
  end)
end)

-- ---- translation details, on small configs ----

describe("oci.translate", function()
  it("resolves a relative root.path against a relative bundle directory, from the current one", function()
    local r = oci.translate({ root = { path = "./rootfs/" } }, "spec/fixtures/../fixtures/oci/crun")
    assert.equal(H.trim(H.sh("pwd")) .. "/spec/fixtures/../fixtures/oci/crun/rootfs", r.rootfs)
    assert.same({ "mount" }, r.namespaces)
    assert.equal("/srv/root", oci.translate({ root = { path = "/srv/root" } }).rootfs)
  end)

  it("joins the namespaces that have a path instead of creating them", function()
    local r = translate [[{ "linux": { "namespaces": [
      { "type": "network", "path": "/run/netns/lab" }, { "type": "uts" }, { "type": "ipc", "path": "/proc/1/ns/ipc" },
      { "type": "cgroup" }, { "type": "time" } ] } }]]
    assert.same({ "uts", "cgroup", "time" }, r.namespaces)
    assert.same({ net = "/run/netns/lab", ipc = "/proc/1/ns/ipc" }, r.join)
  end)

  it("collapses equal capability sets into keep, ignoring root's ambient set", function()
    local r = translate [[{ "process": { "user": { "uid": 0, "gid": 0 }, "capabilities": {
      "bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_KILL", "CAP_CHOWN"],
      "permitted": ["CAP_CHOWN", "CAP_KILL"], "inheritable": ["CAP_CHOWN", "CAP_KILL"] } } }]]
    assert.same({ keep = { "cap_chown", "cap_kill" } }, r.caps)
  end)

  it("keeps the five sets when a non-root command's ambient set differs", function()
    local r = translate [[{ "process": { "user": { "uid": 1000, "gid": 1000 }, "capabilities": {
      "bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"],
      "inheritable": ["CAP_KILL"] } } }]]
    assert.same({ bounding = { "cap_kill" }, effective = { "cap_kill" }, permitted = { "cap_kill" },
      inheritable = { "cap_kill" }, ambient = {} }, r.caps)
    r = translate [[{ "process": { "user": { "uid": 1000, "gid": 1000 }, "capabilities": {
      "bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"], "inheritable": ["CAP_KILL"],
      "ambient": ["CAP_KILL"] } } }]]
    assert.same({ keep = { "cap_kill" } }, r.caps)
  end)

  it("translates the user, umask, rlimits with RLIM_INFINITY, and an empty environment", function()
    local r = translate [[{ "process": { "args": ["id"], "cwd": "/tmp",
      "user": { "uid": 1000, "gid": 100, "additionalGids": [5, 27], "umask": 18 },
      "rlimits": [ { "type": "RLIMIT_MEMLOCK", "soft": 65536, "hard": 18446744073709551615 },
                   { "type": "RLIMIT_CORE", "soft": 0, "hard": 0 } ] } }]]
    assert.same({ namespaces = {}, argv = { "id" }, cwd = "/tmp", clearenv = true,
      user = { uid = 1000, gid = 100, groups = { 5, 27 } }, umask = 18,
      rlimits = { memlock = { 65536, "unlimited" }, core = { 0, 0 } } }, r)
    assert.equal("integer", math.type(r.user.uid))
  end)

  it("translates time offsets to seconds, sysctls and the rootfs propagation", function()
    local r = translate [[{ "linux": { "namespaces": [ { "type": "time" }, { "type": "mount" }, { "type": "network" } ],
      "timeOffsets": { "monotonic": { "secs": 86400 }, "boottime": { "secs": 1, "nanosecs": 500000000 } },
      "sysctl": { "net.ipv4.ip_forward": "1" }, "rootfsPropagation": "rslave" } }]]
    assert.same({ monotonic = 86400, boottime = 1.5 }, r.time)
    assert.equal("integer", math.type(r.time.monotonic))
    assert.same({ ["net.ipv4.ip_forward"] = "1" }, r.sysctl)
    assert.equal("slave", r.propagation)
  end)

  it("translates bind mounts: recursion, read-only, flags by a remount, propagation after", function()
    local r = translate([[{ "linux": { "namespaces": [ { "type": "mount" } ] }, "mounts": [
      { "destination": "/data", "type": "bind", "source": "data", "options": ["rbind", "ro", "nosuid", "nodev"] },
      { "destination": "/opt", "source": "/opt", "options": ["bind"] },
      { "destination": "/srv", "type": "none", "source": "/srv", "options": ["rbind", "rw", "rshared"] } ] }]],
      "/bundles/box/")
    assert.same({
      { type = "dev_bind", source = "/bundles/box/data", target = "/data", recursive = true, readonly = true },
      { type = "mount", target = "/data", options = { "remount", "bind", "ro", "nosuid", "nodev" } },
      { type = "dev_bind", source = "/opt", target = "/opt", recursive = false },
      { type = "dev_bind", source = "/srv", target = "/srv", recursive = true },
      { type = "mount", target = "/srv", options = { "rshared" } },
    }, r.mounts)
  end)

  it("translates tmpfs, proc and other filesystems", function()
    local r = translate [[{ "linux": { "namespaces": [ { "type": "mount" } ] }, "mounts": [
      { "destination": "/run", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "size=1m", "mode=700", "uid=1000", "gid=1000", "nr_inodes=100"] },
      { "destination": "/proc", "type": "proc", "source": "proc", "options": ["hidepid=2", "noexec"] },
      { "destination": "/mnt", "type": "ext4", "source": "/dev/sdb1", "options": ["noatime", "errors=remount-ro"] },
      { "destination": "/cg", "type": "cgroup2" } ] }]]
    assert.same({
      { type = "tmpfs", target = "/run", size = "1m", mode = "700", uid = 1000, gid = 1000,
        options = { "nosuid", "nr_inodes=100" } },
      { type = "proc", target = "/proc", hidepid = 2 },
      { type = "mount", target = "/proc", options = { "remount", "bind", "noexec" } },
      { type = "mount", fstype = "ext4", source = "/dev/sdb1", target = "/mnt",
        options = { "noatime", "errors=remount-ro" } },
      { type = "mount", fstype = "cgroup2", source = "cgroup2", target = "/cg" },
    }, r.mounts)
  end)

  it("takes podman's tmpcopyup where the rootfs has nothing to copy, and refuses it elsewhere", function()
    local dir = H.trim((H.sh("mktemp -d /tmp/nsbox-rootfs.XXXXXX")))
    assert(os.execute(("mkdir -p %s/tmp %s/etc && touch %s/etc/passwd"):format(dir, dir, dir)))
    local function with_tmpfs_on(target)
      return translate(([[{ "root": { "path": "%s" }, "linux": { "namespaces": [ { "type": "mount" } ] },
        "mounts": [ { "destination": "%s", "type": "tmpfs", "options": ["rw", "rprivate", "nosuid",
        "tmpcopyup"] } ] }]]):format(dir, target))
    end
    local r = with_tmpfs_on("/tmp")
    assert.same({ type = "tmpfs", target = "/tmp", options = { "rw", "nosuid" } }, r.mounts[1])
    assert.same({ type = "tmpfs", target = "/var/tmp", options = { "rw", "nosuid" } },
      with_tmpfs_on("/var/tmp").mounts[1])
    local ok, err = pcall(with_tmpfs_on, "/etc")
    require("support.busybox").remove(dir)
    assert.is_false(ok)
    assert.matches("unsupported value 'tmpcopyup' in mounts%[0%]%.options%[3%] %(nsbox copies nothing into a tmpfs, "
      .. "and /tmp/nsbox%-rootfs%.%w+/etc is not empty%)", err)
  end)

  it("keeps the first of two unconditional seccomp actions for one call, as runc and crun do", function()
    local r = translate [[{ "linux": { "seccomp": { "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
      "syscalls": [ { "names": ["setns", "getpid"], "action": "SCMP_ACT_ALLOW" },
                    { "names": ["setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 },
                    { "names": ["getpid", "read"], "action": "SCMP_ACT_ERRNO" } ] } } }]]
    assert.same({ { action = "allow", syscalls = { "setns", "getpid" } },
      { action = "errno", errno = 1, syscalls = { "read" } } }, r.seccomp.rules)
    assert.equal(38, r.seccomp.errno)
  end)

  it("makes a rule comparing one argument more than once one rule per comparison, as runc and crun do", function()
    local r = translate [[{ "linux": { "seccomp": { "defaultAction": "SCMP_ACT_ERRNO",
      "syscalls": [ { "names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
        { "index": 0, "value": 0, "op": "SCMP_CMP_EQ" }, { "index": 0, "value": 8, "op": "SCMP_CMP_EQ" } ] } ] } } }]]
    local function allow(value)
      return { action = "allow", syscalls = { "personality" }, args = { { index = 0, op = "eq", value = value } } }
    end
    assert.same({ allow(0), allow(8) }, r.seccomp.rules)
  end)

  it("reads null as absent, and an empty hostname as none", function()
    local r = translate [[{ "ociVersion": "1.0.2", "annotations": { "org.example": "x" }, "hostname": "",
      "hooks": null, "process": { "args": ["true"], "terminal": null, "env": null },
      "linux": { "seccomp": null, "namespaces": null } }]]
    assert.same({ namespaces = {}, argv = { "true" }, clearenv = true }, r)
  end)
end)

-- ---- refusals ----

-- Each: what to change in the `crun spec` config, and the message expected.
local REFUSALS = {
  { "a seccomp notification listener", function(c)
      c.linux.seccomp = { defaultAction = "SCMP_ACT_ERRNO", listenerPath = "/run/listener" }
    end, "unsupported field 'linux.seccomp.listenerPath'" },
  { "hooks", function(c) c.hooks = { prestart = { { path = "/bin/true" } } } end,
    "unsupported field 'hooks'" },
  { "an unknown namespace type", function(c) table.insert(c.linux.namespaces, { type = "cgroupv3" }) end,
    "unsupported value 'cgroupv3' in linux.namespaces[5].type" },
  { "a namespace listed twice", function(c) table.insert(c.linux.namespaces, { type = "pid" }) end,
    "'linux.namespaces[5]': namespace type 'pid' is listed twice" },
  { "process.apparmorProfile", function(c) c.process.apparmorProfile = "docker-default" end,
    "unsupported field 'process.apparmorProfile'" },
  { "process.selinuxLabel", function(c) c.process.selinuxLabel = "system_u:system_r:container_t:s0" end,
    "unsupported field 'process.selinuxLabel'" },
  { "process.oomScoreAdj", function(c) c.process.oomScoreAdj = 100 end,
    "unsupported field 'process.oomScoreAdj'" },
  { "process.consoleSize", function(c) c.process.consoleSize = { height = 25, width = 80 } end,
    "unsupported field 'process.consoleSize'" },
  { "process.user.username", function(c) c.process.user.username = "root" end,
    "unsupported field 'process.user.username'" },
  { "a memory limit that is no number", function(c) c.linux.resources.memory = { limit = "1g" } end,
    "'linux.resources.memory.limit' must be an integer from -1 to 4611686018427387904, got a string" },
  { "a kernel memory limit", function(c) c.linux.resources.memory = { kernel = 104857600 } end,
    "unsupported field 'linux.resources.memory.kernel'" },
  { "disabling the OOM killer", function(c) c.linux.resources.memory = { disableOOMKiller = true } end,
    "unsupported value 'true' in linux.resources.memory.disableOOMKiller" },
  { "a realtime CPU period", function(c) c.linux.resources.cpu = { realtimePeriod = 1000 } end,
    "unsupported field 'linux.resources.cpu.realtimePeriod'" },
  { "network priorities", function(c) c.linux.resources.network = { classID = 1 } end,
    "unsupported field 'linux.resources.network'" },
  { "a device rule that allows a device, on a host without a device cgroup",
    function(c)
      table.insert(c.linux.resources.devices, { allow = true, type = "c", major = 10, minor = 229, access = "rw" })
    end,
    "unsupported field 'linux.resources.devices' (" .. NO_DEVICE_CGROUP .. "; without one nsbox accepts only "
      .. "allow-all and deny-all)" },
  { "the deny-all device rule without a device cgroup or a tmpfs on /dev", function(c) table.remove(c.mounts, 2) end,
    "unsupported field 'linux.resources.devices[0]' (the deny-all rule holds without a device cgroup only when a "
      .. "tmpfs on /dev gives nsbox's minimal /dev)" },
  { "the deny-all device rule without a device cgroup, with CAP_MKNOD",
    function(c) table.insert(c.process.capabilities.bounding, "CAP_MKNOD") end,
    "unsupported field 'linux.resources.devices[0]' (the deny-all rule holds without a device cgroup only without "
      .. "CAP_MKNOD in process.capabilities.bounding)" },
  { "a device rule of an unknown type", function(c) c.linux.resources.devices[1].type = "p" end,
    "unsupported value 'p' in linux.resources.devices[0].type" },
  { "a systemd cgroupsPath", function(c) c.linux.cgroupsPath = "machine.slice:libpod:abc" end,
    "unsupported value 'machine.slice:libpod:abc' in linux.cgroupsPath (systemd's \"slice:prefix:name\" form needs "
      .. "the systemd cgroup manager; nsbox manages cgroups itself and takes a path)" },
  { "linux.devices", function(c) c.linux.devices = { { path = "/dev/fuse", type = "c", major = 10, minor = 229 } } end,
    "unsupported field 'linux.devices'" },
  { "linux.mountLabel", function(c) c.linux.mountLabel = "system_u:object_r:container_file_t:s0" end,
    "unsupported field 'linux.mountLabel'" },
  { "a hostname without a uts namespace", function(c) table.remove(c.linux.namespaces, 4) end,
    "'hostname' needs a new uts namespace: add {\"type\": \"uts\"} to linux.namespaces" },
  { "a hostname in a joined uts namespace", function(c) c.linux.namespaces[4].path = "/proc/1/ns/uts" end,
    "'hostname' needs a new uts namespace, but linux.namespaces joins /proc/1/ns/uts" },
  { "a rootfs in a joined mount namespace", function(c) c.linux.namespaces[5].path = "/proc/1/ns/mnt" end,
    "'root.path' needs a new mount namespace, but linux.namespaces joins /proc/1/ns/mnt" },
  { "uid mappings without a user namespace",
    function(c) c.linux.uidMappings = { { containerID = 0, hostID = 1000, size = 1 } } end,
    "'linux.uidMappings' needs a new user namespace: add {\"type\": \"user\"} to linux.namespaces" },
  { "time offsets without a time namespace", function(c) c.linux.timeOffsets = { monotonic = { secs = 1 } } end,
    "'linux.timeOffsets' needs a new time namespace: add {\"type\": \"time\"} to linux.namespaces" },
  { "an offset of the realtime clock", function(c)
      table.insert(c.linux.namespaces, { type = "time" })
      c.linux.timeOffsets = { realtime = { secs = 1 } }
    end,
    "unsupported field 'linux.timeOffsets.realtime'" },
  { "an unknown rlimit", function(c) c.process.rlimits[1].type = "RLIMIT_FOO" end,
    "unsupported value 'RLIMIT_FOO' in process.rlimits[0].type" },
  { "a capability named without CAP_", function(c) table.insert(c.process.capabilities.bounding, "NET_ADMIN") end,
    "unsupported value 'NET_ADMIN' in process.capabilities.bounding[3]" },
  { "an unbindable rootfs", function(c) c.linux.rootfsPropagation = "unbindable" end,
    "unsupported value 'unbindable' in linux.rootfsPropagation" },
  { "an option of /dev nsbox cannot give", function(c) table.insert(c.mounts[2].options, "mode=777") end,
    "unsupported value 'mode=777' in mounts[1].options[4] (nsbox makes /dev itself)" },
  { "a filesystem option of proc", function(c) c.mounts[1].options = { "nosuid", "subset=pid" } end,
    "unsupported value 'subset=pid' in mounts[0].options[1]" },
  { "a bind option nsbox does not know", function(c)
      table.insert(c.mounts, { destination = "/data", type = "bind", source = "/srv", options = { "rbind", "idmap" } })
    end,
    "unsupported value 'idmap' in mounts[7].options[1]" },
  { "an idmapped mount", function(c) c.mounts[1].uidMappings = { { containerID = 0, hostID = 1000, size = 1 } } end,
    "unsupported field 'mounts[0].uidMappings'" },
  { "a relative mount destination", function(c) c.mounts[1].destination = "proc" end,
    "'mounts[0].destination' must be an absolute path, got 'proc'" },
  { "an environment entry without =", function(c) c.process.env[3] = "JUNK" end,
    "'process.env[2]' must be NAME=VALUE, got 'JUNK'" },
  { "a cwd of the wrong type", function(c) c.process.cwd = 42 end,
    "'process.cwd' must be a string, got 42" },
  { "a negative uid", function(c) c.process.user.uid = -1 end,
    "'process.user.uid' must be an integer from 0 to 4294967294, got -1" },
  { "empty args", function(c) c.process.args = {} end,
    "'process.args' must not be empty" },
}

describe("oci.translate refuses what nsbox cannot do, naming the field:", function()
  host_with_device_cgroup(false)

  for _, case in ipairs(REFUSALS) do
    local name, change, message = case[1], case[2], case[3]
    it(name, function()
      local config = fixture("crun")
      change(config)
      local ok, err = pcall(oci.translate, config, BUNDLE)
      assert.is_false(ok, "expected a refusal")
      assert.equal("nsbox.oci: " .. message, err)
    end)
  end

  it("a relative root.path without the bundle directory", function()
    local ok, err = pcall(oci.translate, { root = { path = "rootfs" } })
    assert.is_false(ok)
    assert.equal("nsbox.oci: 'root.path' is relative ('rootfs'): pass the bundle directory, "
      .. "oci.translate(config, bundle_dir)", err)
  end)

  it("reported at the caller's line", function()
    local ok, err = pcall(function()
      local r = oci.translate({ hooks = {} }); return r
    end)
    assert.is_false(ok)
    assert.matches("^spec/oci_spec.lua:%d+: nsbox.oci: unsupported field 'hooks'$", err)
  end)
end)

-- ---- oci.load ----

describe("oci.load", function()
  it("returns the recipe and process.args of a bundle", function()
    local dir = H.temp_dir()
    H.write(dir .. "/config.json", [[{ "process": { "args": ["echo", "hi"] }, "root": { "path": "rootfs" } }]])
    local r, argv = oci.load(dir .. "/")
    assert.same({ "echo", "hi" }, argv)
    assert.equal(dir .. "/rootfs", r.rootfs)
  end)

  it("returns nil and a message when config.json is missing", function()
    local dir = H.temp_dir()
    assert.same({ nil, dir .. "/config.json: No such file or directory" }, { oci.load(dir) })
  end)

  it("returns nil and a message when config.json is not JSON, or not an object", function()
    local dir = H.temp_dir()
    H.write(dir .. "/config.json", "{ \"process\": ")
    local r, message = oci.load(dir)
    assert.is_nil(r)
    assert.matches("^" .. dir:gsub("%p", "%%%0") .. "/config.json: invalid JSON: ", message)
    H.write(dir .. "/config.json", "42")
    assert.same({ nil, dir .. "/config.json: invalid config: not a JSON object" }, { oci.load(dir) })
  end)

  it("loads the generated configs as they are, their terminal as tty = true", function()
    for _, name in ipairs { "crun", "crun-rootless", "runc" } do
      assert.is_true(oci.load(FIXTURES .. name).tty)
    end
  end)

  it("refuses what it cannot do at the caller's line", function()
    local config = fixture("crun")
    config.hooks = { prestart = { { path = "/bin/true" } } }
    local dir = H.temp_dir()
    H.write(dir .. "/config.json", cjson.encode(config))
    local ok, err = pcall(function()
      local r = oci.load(dir); return r
    end)
    assert.is_false(ok)
    assert.matches("^spec/oci_spec.lua:%d+: nsbox.oci: unsupported field 'hooks'", err)
  end)

  it("raises an error for a bundle directory that is not a string", function()
    assert.has_error(function() oci.load(42) end, "nsbox.oci: load expects the bundle directory, a string; got number")
  end)
end)

-- ---- nsbox.recipe takes the translations ----

-- A bundle-less config nsbox can run today: no root, only the current keys.
local HOSTLESS = {
  ociVersion = "1.0.0",
  process = { args = { "sh", "-c", "hostname; echo $GREETING" }, env = { "PATH=/usr/bin:/bin", "GREETING=hello" },
    cwd = "/" },
  hostname = "oci-spec",
  linux = { namespaces = { { type = "uts" } } },
}

describe("nsbox.recipe", function()
  for _, name in ipairs { "crun", "crun-rootless", "runc" } do
    local t = translated(name)
    it("takes the translation of " .. name .. "'s config", function()
      local r = nsbox.recipe(t)
      -- an unprivileged caller also gets a user namespace: each translated one must be there
      local created = check.set_of(r.namespaces)
      for _, ns in ipairs(t.namespaces) do assert.is_true(created[ns], ns) end
      assert.equal(t.hostname, r.hostname)
    end)
  end

  it("takes a translation extended by another fragment", function()
    local r = nsbox.recipe(oci.translate(HOSTLESS), { hostname = "mine" })
    assert.equal("mine", r.hostname)
    assert.same({ "sh", "-c", "hostname; echo $GREETING" }, r.argv)
    assert.is_true(r.clearenv)
  end)
end)

-- ---- recipes/oci.lua ----

local function bundle(config, dir)
  dir = dir or H.temp_dir()
  H.sh("chmod 755 " .. H.quote(dir))
  H.write(dir .. "/config.json", cjson.encode(config))
  return dir
end

-- A bundle whose rootfs holds only a static busybox and a few of its names.
local function busybox_bundle(config)
  local dir = H.temp_dir()
  local rootfs = dir .. "/rootfs"
  local _, err, code = H.sh(("mkdir -p %s/bin %s/dev %s/proc %s/sys && cp /bin/busybox %s/bin/"):format(
    rootfs, rootfs, rootfs, rootfs, rootfs))
  assert.equal(0, code, err)
  for _, name in ipairs { "sh", "ls", "id", "hostname", "cat" } do
    assert.equal(0, select(3, H.sh(("ln -s busybox %s/bin/%s"):format(rootfs, name))))
  end
  return bundle(config, dir)
end

local MINIMAL = {
  ociVersion = "1.0.0",
  process = { args = { "sh", "-c", "hostname; ls /" }, env = { "PATH=/bin" }, cwd = "/" },
  root = { path = "rootfs" },
  hostname = "busybox",
  mounts = { { destination = "/proc", type = "proc", source = "proc" } },
  linux = { namespaces = { { type = "pid" }, { type = "uts" }, { type = "mount" }, { type = "ipc" } } },
}

local function crun_busybox()
  local config = fixture("crun")
  config.process.args = { "sh", "-c", "hostname; ls /" }
  return config
end

describe("recipes/oci.lua", function()
  it("exits 125 with a usage message without a bundle", function()
    local out, err, code = H.recipe("oci")
    assert.same({ "", "nsbox: usage: lua recipes/oci.lua BUNDLE [CMD [ARG...]]\n", 125 }, { out, err, code })
  end)

  it("exits 125 when the bundle has no config.json", function()
    local _, err, code = H.recipe("oci", { "/nonexistent-nsbox-bundle" })
    assert.same({ "nsbox: /nonexistent-nsbox-bundle/config.json: No such file or directory\n", 125 }, { err, code })
  end)

  it("exits 125 naming the field it refuses", function()
    local config = fixture("crun")
    config.hooks = { prestart = { { path = "/bin/true" } } }
    local _, err, code = H.recipe("oci", { bundle(config) })
    assert.equal(125, code)
    assert.matches("^nsbox: nsbox.oci: unsupported field 'hooks'", err)
  end)

  H.root_it("runs process.args with the config's hostname and nothing but its environment", function()
    local dir = bundle(HOSTLESS)
    local out, err, code = H.recipe("oci", { dir })
    assert.equal(0, code, err)
    assert.equal("oci-spec\nhello\n", out)
  end)

  H.root_it("runs a bundle for an unprivileged user too", function()
    local dir = bundle(HOSTLESS)
    local out, err, code = H.recipe("oci", { dir }, { nobody = true })
    assert.equal(0, code, err)
    assert.equal("oci-spec\nhello\n", out)
  end)

  H.root_it("runs the command given after the bundle instead of process.args", function()
    local dir = bundle(HOSTLESS)
    local out, err, code = H.recipe("oci", { dir, "sh", "-c", "echo \"$GREETING:$HOME\"; exit 7" })
    assert.equal(7, code, err)
    assert.equal("hello:\n", out)
  end)

  H.root_it("runs a busybox rootfs, showing its hostname and its /", function()
    local out, err, code = H.recipe("oci", { busybox_bundle(MINIMAL) })
    assert.equal(0, code, err)
    assert.equal("busybox\nbin\ndev\nproc\nsys\n", out)
  end)

  H.root_it("runs a busybox rootfs with `crun spec`'s config", function()
    local out, err, code = H.recipe("oci", { busybox_bundle(crun_busybox()) })
    assert.equal(0, code, err)
    assert.equal("crun\nbin\ndev\nproc\nsys\n", out)
  end)
end)
