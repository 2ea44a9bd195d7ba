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
