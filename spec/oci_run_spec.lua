-- The same busybox bundle, `crun spec`'s config, run by crun and by
-- recipes/oci.lua: what the command sees must match.
local cjson = require "cjson"
local H = require "helpers"
local B = require "support.busybox"

local SCRIPT = [[
echo "hostname: $(hostname)"
echo "id: $(id)"
echo "ls: $(ls / | tr '\n' ' ')"
grep ^Cap /proc/self/status
awk '{ print "mount:", $5 }' /proc/self/mountinfo | sort -u
echo "nofile: $(ulimit -n)"
exit 3
]]

-- crun's config as `crun spec` writes it, but for the terminal, which nsbox
-- refuses (the command gets the caller's stdio).
local function config()
  local c = cjson.decode(H.slurp("spec/fixtures/oci/crun/config.json"))
  c.process.terminal = false
  c.process.args = { "sh", "-c", SCRIPT }
  return c
end

local function bundle()
  local dir = B.rootfs { "bin", "proc", "dev", "sys" }
  assert(os.execute(("mkdir %s/rootfs && mv %s/bin %s/proc %s/dev %s/sys %s/rootfs/"):format(
    dir, dir, dir, dir, dir, dir)))
  local f = assert(io.open(dir .. "/config.json", "w"))
  f:write(cjson.encode(config()))
  f:close()
  return dir
end

-- crun on this hybrid cgroup host: in a mount namespace of its own without
-- the v2 hierarchy, which it would otherwise take for the host's kind.
local function run_crun(dir)
  return H.sh(("unshare --mount sh -c 'mount --make-rprivate / && umount /sys/fs/cgroup/unified 2>/dev/null; "
    .. "exec crun --cgroup-manager=disabled --root %s/state run --bundle %s nsbox-spec-$$'"):format(dir, dir))
end

-- Known differences: nsbox binds the host's device nodes where crun makes
-- them with mknod, and mounts the cgroup2 hierarchy where crun mounts the
-- host's v1 ones; nsbox's minimal /dev brings a devpts and shm of its own.
local function comparable(out)
  return (out:gsub("mount: /dev/[a-z]+\n", function(line)
    return (line == "mount: /dev/pts\n" or line == "mount: /dev/shm\n" or line == "mount: /dev/mqueue\n") and line or ""
  end):gsub("mount: /sys/fs/cgroup/[^\n]+\n", ""))
end

describe("a busybox bundle with `crun spec`'s config", function()
  local crun = H.sh("command -v crun") ~= ""
  if not crun then
    pending("runs the same under crun and recipes/oci.lua (skipped: crun is not installed)")
    return
  end
  local dir
  setup(function() if H.root then dir = bundle() end end)
  teardown(function() if dir then B.remove(dir) end end)

  H.root_it("shows the command the same hostname, ids, /, capabilities, mounts, limits and status", function()
    local crun_out, crun_err, crun_code = run_crun(dir)
    local out, err, code = H.recipe("oci", { dir })
    assert.equal(3, crun_code, crun_err)
    assert.equal(3, code, err)
    assert.matches("^hostname: crun\nid: uid=0 gid=0\nls: bin dev proc sys \n", out)
    assert.matches("mount: /sys/fs/cgroup\n", out)
    assert.equal(comparable(crun_out), comparable(out))
  end)
end)

describe("a busybox bundle with `crun spec --rootless`'s config", function()
  local dir
  setup(function()
    if not H.root then return end
    dir = bundle()
    local c = config()
    c.process.args = { "sh", "-c", "hostname; id; ls /; grep ^CapEff /proc/self/status" }
    -- Its cgroup mount would need a cgroup namespace, which the config does not ask for.
    local rootless = cjson.decode(H.slurp("spec/fixtures/oci/crun-rootless/config.json"))
    c.linux.namespaces, c.mounts = rootless.linux.namespaces, {}
    for _, m in ipairs(rootless.mounts) do
      if m.type ~= "cgroup" then c.mounts[#c.mounts + 1] = m end
    end
    local f = assert(io.open(dir .. "/config.json", "w"))
    f:write(cjson.encode(c))
    f:close()
  end)
  teardown(function() if dir then B.remove(dir) end end)

  H.root_it("runs for an unprivileged user under recipes/oci.lua", function()
    local out, err, code = H.recipe("oci", { dir }, { nobody = true })
    assert.equal(0, code, err)
    assert.equal("crun\nuid=0 gid=0\nbin\ndev\nproc\nsys\nCapEff:\t0000000020000420\n", out)
  end)
end)

-- linux.resources side by side: the limits crun writes and those nsbox writes, read from the host's
-- v1 files through a bind of /sys/fs/cgroup (the command's own cgroups, found in /proc/self/cgroup).
local LIMITS_SCRIPT = [[
for f in memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes memory/memory.soft_limit_in_bytes \
    pids/pids.max cpu/cpu.shares cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us cpuset/cpuset.cpus \
    blkio/blkio.throttle.read_bps_device devices/devices.list; do
  c=${f%%/*}
  echo "$f: $(cat /hostcg/$c$(grep ":$c:" /proc/self/cgroup | cut -d: -f3)/${f#*/} | tr '\n' ' ')"
done
mknod /dev/shm/disk b 254 0 && head -c1 /dev/shm/disk >/dev/null && echo "block device read"
exec tail /dev/zero
]]

describe("a busybox bundle with linux.resources", function()
  local crun = H.sh("command -v crun") ~= ""
  local own = H.deepest_own_cgroup()
  if not crun or not own then
    pending("limits the command as crun does (skipped: crun is not installed, or the caller's cgroups differ)")
    return
  end
  local dir
  setup(function()
    if not H.root then return end
    dir = bundle()
    assert(os.execute(("mkdir %s/rootfs/hostcg && ln -s busybox %s/rootfs/bin/mknod && ln -s busybox "
      .. "%s/rootfs/bin/tail"):format(dir, dir, dir)))
  end)
  teardown(function() if dir then B.remove(dir) end end)

  local function write_config(cgroups_path)
    local c = config()
    c.process.args = { "sh", "-c", LIMITS_SCRIPT }
    for _, set in ipairs { "bounding", "effective", "permitted" } do
      table.insert(c.process.capabilities[set], "CAP_MKNOD")
    end
    table.insert(c.mounts, { destination = "/hostcg", type = "bind", source = "/sys/fs/cgroup", options = { "rbind" } })
    c.linux.cgroupsPath = cgroups_path
    -- podman's limits (memory+swap twice memory, 2048 pids), and more
    c.linux.resources = { devices = c.linux.resources.devices,
      memory = { limit = 64 << 20, swap = 64 << 20, reservation = 32 << 20 }, pids = { limit = 2048 },
      cpu = { shares = 512, quota = 50000, period = 200000, cpus = "0" },
      blockIO = { throttleReadBpsDevice = { { major = 254, minor = 0, rate = 1048576 } } } }
    local f = assert(io.open(dir .. "/config.json", "w"))
    f:write(cjson.encode(c))
    f:close()
  end

  H.root_it("limits the command as crun does: the same files, the device rules, and the OOM kill", function()
    local crun_path = own .. "/nsbox-spec-crun"
    local made = H.missing_cgroups(crun_path)
    write_config(crun_path)
    local crun_out, crun_err, crun_code = H.sh(("unshare --mount sh -c 'mount --make-rprivate / && umount "
      .. "/sys/fs/cgroup/unified && exec crun --cgroup-manager=cgroupfs --root %s/state run --bundle %s "
      .. "nsbox-spec-res-$$'"):format(dir, dir))
    -- crun removes its cgroups but not the parents it made for them
    for _, d in ipairs(made) do H.sh("rmdir " .. H.quote(d) .. " 2>/dev/null") end
    assert.same({}, H.missing_cgroups(crun_path, made))
    write_config("nsbox-spec-oci")
    local out, err, code = H.recipe("oci", { dir })
    assert.equal(137, crun_code, crun_err)
    assert.equal(137, code, err)
    assert.matches("memory/memory.limit_in_bytes: 67108864 \n", out)
    assert.matches("devices/devices.list: c %*:%* m b %*:%* m c 1:3 rwm", out)
    assert.not_matches("block device read", out)
    assert.matches("^head: /dev/shm/disk: Permission denied\n", err)
    assert.equal(crun_out, out)
    assert.equal("nsbox: killed by the out-of-memory killer (memory limit 64m)\n", err:match("nsbox: .*$"))
    assert.equal("", H.sh("find /sys/fs/cgroup -name 'nsbox-spec-*'"))
  end)
end)
