-- nsbox.mounts: every mount type, observed from inside (a mountinfo line, a
-- file's content, a symlink's target, a read-only error), and the mistakes
-- refused before any fork.
local nsbox = require "nsbox"
local H = require "helpers"
local B = require "support.busybox"

-- The error of a recipe in a mount namespace with these mounts and extra keys.
local function mounts_error(mounts, extra)
  local t = { namespaces = { "mount" }, mounts = mounts }
  for k, v in pairs(extra or {}) do t[k] = v end
  return H.recipe_error(t)
end

local host_mounts_kept = H.host_mounts_kept("mounts")

describe("mounts are checked before any fork:", function()
  local cases = {
    { "an unknown type", { { type = "sysf", target = "/sys" } },
      "'mounts[1].type': unknown mount type 'sysf' (did you mean 'sysfs'?)" },
    { "a relative target", { { type = "tmpfs", target = "tmp" } },
      "'mounts[1].target' must be an absolute path, got 'tmp'" },
    { "a target climbing out", { { type = "tmpfs", target = "/tmp/../etc" } },
      "'mounts[1].target' must not contain '..', got '/tmp/../etc'" },
    { "a key of another type", { { type = "proc", target = "/proc", size = "1m" } },
      "mounts[1]: unknown key 'size'" },
    { "a bad hidepid", { { type = "proc", target = "/proc", hidepid = 3 } }, "'mounts[1].hidepid' must be 0, 1, 2, 4" },
    { "a dir on the host's tree without rootfs", { { type = "dir", target = "/etc/nsbox" } },
      "'mounts[1].target': without rootfs, a dir must lie under a tmpfs or dev mounted earlier in mounts" },
    { "a file under a tmpfs mounted later",
      { { type = "file", target = "/mnt/x" }, { type = "tmpfs", target = "/mnt" } },
      "'mounts[1].target': without rootfs, a file must lie under a tmpfs" },
    { "a symlink on a bind", { { type = "bind", source = "/srv", target = "/mnt" },
      { type = "symlink", source = "x", target = "/mnt/x" } }, "without rootfs, a symlink must lie under" },
    { "sysfs in a new user namespace without a net namespace", { { type = "sysfs", target = "/sys" } },
      "'mounts[1]': sysfs in a new user namespace needs the 'net' namespace too",
      { namespaces = { "user", "mount" } } },
    { "a symlink without its text", { { type = "symlink", target = "/x" } }, "'mounts[1].source' must be a string" },
  }
  for _, case in ipairs(cases) do
    it(case[1], function()
      assert.matches(case[3], mounts_error(case[2], case[4]), 1, true)
    end)
  end

  it("takes dir, file and symlink under a tmpfs mounted earlier, without rootfs", function()
    local r = nsbox.recipe { namespaces = { "mount" }, mounts = { { type = "tmpfs", target = "/mnt" },
      { type = "dir", target = "/mnt/a/b" }, { type = "file", target = "/mnt/f", content = "x" } } }
    assert.equal(3, #r.mounts)
  end)
end)

describe("inside a rootfs", function()
  local rootfs
  setup(function() if H.root then rootfs = B.rootfs() end end)
  teardown(function() if rootfs then B.remove(rootfs) end end)

  local function mounted(mounts, script)
    local out = B.run(rootfs, { mounts = mounts }, "cat /proc/self/mountinfo; " .. (script or ""))
    return B.mounts(out), out
  end
  local PROC = { type = "proc", target = "/proc" }

  H.root_it("proc takes hidepid", function()
    local points = mounted { { type = "proc", target = "/proc", hidepid = "invisible" } }
    assert.matches("proc proc rw,hidepid=invisible", points["/proc"], 1, true)
  end)

  H.root_it("tmpfs takes size, mode, uid and gid", function()
    local points = mounted { PROC, { type = "tmpfs", target = "/tmp", size = "1m", mode = "700", uid = 12, gid = 34 } }
    assert.matches("^rw,nosuid,nodev.* tmpfs tmpfs rw,size=1024k,mode=700,uid=12,gid=34", points["/tmp"])
  end)

  H.root_it("sysfs is read-only, mqueue and devpts are mounted with their options", function()
    local points = mounted { PROC, { type = "sysfs", target = "/sys" }, { type = "mqueue", target = "/mq" },
      { type = "devpts", target = "/pts", options = { "newinstance", "mode=0600" } } }
    assert.matches("^ro,nosuid,nodev,noexec.* sysfs sysfs ro", points["/sys"])
    assert.matches("^rw,nosuid,nodev,noexec.* mqueue mqueue", points["/mq"])
    assert.matches("^rw,nosuid,noexec.* devpts devpts rw,mode=600", points["/pts"])
  end)

  H.root_it("dev is a minimal /dev: host nodes bound, its own devpts, shm, and symlinks", function()
    local points, out = mounted({ PROC, { type = "dev", target = "/dev" } },
      "for l in ptmx fd stdout; do readlink /dev/$l; done; head -c 3 /dev/zero | wc -c")
    assert.matches("^rw,nosuid,noexec.* tmpfs tmpfs rw,mode=755", points["/dev"])
    assert.matches("^rw,nosuid,noexec.* devpts devpts rw,mode=620,ptmxmode=666", points["/dev/pts"])
    assert.matches("^rw,nosuid,nodev.* tmpfs tmpfs rw$", points["/dev/shm"])
    assert.truthy(points["/dev/null"] and points["/dev/urandom"])
    assert.is_nil(points["/dev/tty"])
    assert.is_nil(points["/dev/kcore"])
    assert.matches("pts/ptmx\n/proc/self/fd\n/proc/self/fd/1\n3\n$", out)
  end)

  H.root_it("bind is nodev, dev_bind allows devices, ro_bind is read-only", function()
    local _, out = mounted({ PROC, { type = "bind", source = "/dev/zero", target = "/zero" },
      { type = "dev_bind", source = "/dev/zero", target = "/devzero" },
      { type = "ro_bind", source = rootfs .. "/etc", target = "/roetc" } },
      "head -c 1 /zero | wc -c; head -c 1 /devzero | wc -c; touch /roetc/x")
    assert.matches("head: /zero: Permission denied\n0\n1\ntouch: /roetc/x: Read%-only file system\n$", out)
  end)

  H.root_it("an optional bind with a missing source is skipped", function()
    local points = mounted { PROC, { type = "bind", source = "/nonexistent-nsbox", target = "/x", optional = true } }
    assert.is_nil(points["/x"])
  end)

  H.root_it("symlink, dir and file create what they name, with their modes", function()
    local _, out = mounted({ PROC, { type = "tmpfs", target = "/tmp" },
      { type = "symlink", source = "../target text", target = "/tmp/link" },
      { type = "dir", target = "/tmp/a/b", mode = "1750" },
      { type = "file", target = "/tmp/a/f", content = "line 1\nline 2\n", mode = "600" } },
      "readlink /tmp/link; stat -c %a /tmp/a/b /tmp/a/f; cat /tmp/a/f")
    assert.matches("\n../target text\n1750\n600\nline 1\nline 2\n$", out)
  end)

  H.root_it("remount_ro makes a mount read-only", function()
    local points, out = mounted({ PROC, { type = "tmpfs", target = "/tmp" }, { type = "remount_ro", target = "/tmp" } },
      "touch /tmp/x")
    assert.matches("^ro,nosuid,nodev", points["/tmp"])
    assert.matches("Read%-only file system", out)
  end)

  H.root_it("mount mounts any filesystem with mount(8)-style options", function()
    local points = mounted { PROC, { type = "mount", fstype = "tmpfs", source = "scratch", target = "/scratch",
      options = "noexec,size=2m" } }
    assert.matches("^rw,noexec.* tmpfs scratch rw,size=2048k", points["/scratch"])
  end)

  H.root_it("a failing mount names its step", function()
    local ok, message = nsbox.run({ namespaces = { "mount" }, rootfs = rootfs,
      mounts = { { type = "mount", fstype = "nosuchfs", target = "/x" } } }, { "/bin/true" })
    assert.is_nil(ok)
    assert.matches("^mount nosuchfs on /x %(step %d+%): No such device$", message)
  end)
end)

describe("without a rootfs", function()
  H.root_it("dir, file and symlink go into a tmpfs of the recipe's, leaving the host's tree alone", function()
    local before = H.sh("ls -la /mnt")
    local out = H.capture({ namespaces = { "mount" }, mounts = { { type = "tmpfs", target = "/mnt" },
      { type = "dir", target = "/mnt/d" }, { type = "file", target = "/mnt/d/f", content = "hi" },
      { type = "symlink", source = "d/f", target = "/mnt/l" } } }, { "cat", "/mnt/l" })
    assert.equal("hi", out)
    assert.equal(before, H.sh("ls -la /mnt"))
  end)

  H.root_it("mount points outside the recipe's own mounts are not created", function()
    local ok, message = nsbox.run({ namespaces = { "mount" },
      mounts = { { type = "tmpfs", target = "/nonexistent-nsbox" } } }, { "true" })
    assert.is_nil(ok)
    assert.matches("^mount tmpfs on /nonexistent%-nsbox %(step %d+%): No such file or directory$", message)
    assert.is_nil(H.slurp("/nonexistent-nsbox"))
  end)
end)

host_mounts_kept()
