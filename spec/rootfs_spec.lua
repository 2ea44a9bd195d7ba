-- nsbox.rootfs: pivoting into a directory, what stays reachable, the
-- read-only root, masked and read-only paths, sysctls, and recipes/rootfs.lua.
local nsbox = require "nsbox"
local H = require "helpers"
local B = require "support.busybox"

local recipe_error = H.recipe_error
local host_mounts_kept = H.host_mounts_kept("rootfs")

describe("rootfs keys are checked before any fork:", function()
  local NS = { "mount", "pid", "uts", "ipc", "net" }
  local cases = {
    { "rootfs without a mount namespace", { namespaces = { "uts" }, rootfs = "/srv" },
      "'rootfs' needs the 'mount' namespace" },
    { "a relative rootfs", { namespaces = NS, rootfs = "srv" }, "'rootfs' must be an absolute path, got 'srv'" },
    { "rootfs_readonly without rootfs", { namespaces = NS, rootfs_readonly = true },
      "'rootfs_readonly' needs 'rootfs'" },
    { "chroot without rootfs", { namespaces = NS, chroot = true }, "'chroot' needs 'rootfs'" },
    { "pause_before_root without rootfs", { namespaces = NS, pause_before_root = true },
      "'pause_before_root' needs 'rootfs'" },
    { "an unknown propagation", { namespaces = NS, propagation = "rslave" },
      "'propagation' must be \"private\", \"slave\" or \"shared\", got rslave" },
    { "masked paths climbing out", { namespaces = NS, masked = { "/proc/../etc" } },
      "'masked[1]' must not contain '..', got '/proc/../etc'" },
    { "a sysctl of the host's", { namespaces = NS, sysctl = { ["vm.swappiness"] = "10" },
      mounts = { { type = "proc", target = "/proc" } } }, "'sysctl.vm.swappiness' is not namespaced" },
    { "a net sysctl without a net namespace", { namespaces = { "mount", "pid" },
      sysctl = { ["net.ipv4.ip_forward"] = "1" }, mounts = { { type = "proc", target = "/proc" } } },
      "'sysctl.net.ipv4.ip_forward' needs the 'net' namespace" },
    { "a sysctl without the sandbox's /proc", { namespaces = NS, sysctl = { ["kernel.shmmni"] = "100" } },
      "'sysctl' needs the sandbox's own /proc" },
  }
  for _, case in ipairs(cases) do
    it(case[1], function()
      assert.matches(case[3], recipe_error(case[2]), 1, true)
    end)
  end

  it("cwd defaults to / with a rootfs", function()
    assert.equal("/", nsbox.recipe { namespaces = { "mount" }, rootfs = "/srv" }.cwd)
  end)
end)

describe("a rootfs", function()
  local rootfs, marker
  setup(function()
    if not H.root then return end
    rootfs = B.rootfs()
    marker = os.tmpname()
    assert(io.open(marker, "w")):close()
  end)
  teardown(function()
    if rootfs then B.remove(rootfs) end
    if marker then os.remove(marker) end
  end)

  H.root_it("is / inside: the host's files are unreachable but what the recipe mounts", function()
    local out, ok = B.run(rootfs, { mounts = { { type = "proc", target = "/proc" } } },
      "ls /; test -e " .. marker .. " || echo no marker; cat /etc/hostname || echo no hostname; pwd")
    assert.is_true(ok, out)
    assert.equal("bin\ndev\netc\nout\nproc\nsys\ntmp\nno marker\ncat: can't open '/etc/hostname': "
      .. "No such file or directory\nno hostname\n/\n", out)
  end)

  H.root_it("leaves none of the host's mounts behind (pivot_root, old root detached)", function()
    local out = B.run(rootfs, { mounts = { { type = "proc", target = "/proc" } } }, "cat /proc/self/mountinfo")
    local points = B.mounts(out)
    assert.same({ "/", "/out", "/proc" }, require("nsbox.check").sorted_names(points))
  end)

  H.root_it("uses chroot instead of pivot_root only when chroot = true", function()
    local out, ok = B.run(rootfs, { chroot = true }, "ls /bin/busybox")
    assert.is_true(ok, out)
    assert.equal("/bin/busybox\n", out)
  end)

  H.root_it("waits before entering the root with pause_before_root while options.paused runs", function()
    local r = nsbox.recipe { namespaces = { "mount", "pid" }, rootfs = rootfs, pause_before_root = true,
      mounts = { { type = "proc", target = "/proc" } }, env = { PATH = "/bin" }, clearenv = true }
    local seen
    local output, ok = nsbox.capture(r, { "/bin/sh", "-c", "ls /bin/busybox" }, { paused = function(pid)
      -- The child's root is still the old one, the rootfs's /proc already mounted: seen through it.
      seen = H.slurp(("/proc/%d/root%s/proc/1/stat"):format(pid, rootfs)) ~= nil
      return true
    end })
    assert.same({ "/bin/busybox\n", true, true }, { output, ok, seen })
    local victim
    local proc, message, _, step = nsbox.spawn(r, { "true" }, { paused = function(pid)
      victim = pid
      return nil, "not now"
    end })
    assert.same({ nil, "not now", "pause" }, { proc, message, step })
    assert.is_nil(H.slurp("/proc/" .. victim .. "/stat")) -- killed and reaped
  end)

  H.root_it("is read-only with rootfs_readonly, its mounts staying writable", function()
    local out = B.run(rootfs, { rootfs_readonly = true, mounts = { { type = "tmpfs", target = "/tmp" } } },
      "touch /x; touch /tmp/x && echo tmp writable")
    assert.matches("touch: /x: Read%-only file system\ntmp writable\n", out)
  end)

  H.root_it("masks files with /dev/null and directories with an empty read-only tmpfs, skipping missing ones",
    function()
      local out = B.run(rootfs, { mounts = { { type = "proc", target = "/proc" } },
        masked = { "/proc/keys", "/proc/driver", "/proc/nonexistent" } },
        "wc -c < /proc/keys; ls /proc/driver | wc -l; touch /proc/driver/x")
      assert.equal("0\n0\ntouch: /proc/driver/x: Read-only file system\n", out)
    end)

  H.root_it("makes readonly paths read-only, submounts included, skipping missing ones", function()
    local out = B.run(rootfs, { mounts = { { type = "proc", target = "/proc" } },
      readonly = { "/proc/sys", "/nonexistent" } },
      "echo 1 > /proc/sys/kernel/shmmni && echo written")
    assert.matches("Read%-only file system", out)
  end)

  H.root_it("writes namespaced sysctls after /proc is mounted", function()
    local out, ok = B.run(rootfs, { mounts = { { type = "proc", target = "/proc" } },
      sysctl = { ["net.ipv4.ip_forward"] = "1", ["kernel.shmmni"] = 1234 } },
      "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni")
    assert.is_true(ok, out)
    assert.equal("1\n1234\n", out)
    assert.not_equal("1234", H.trim(H.slurp("/proc/sys/kernel/shmmni")))
  end)

  H.root_it("applies propagation to the new / recursively", function()
    local out = B.run(rootfs, { propagation = "shared", mounts = { { type = "proc", target = "/proc" } } },
      "awk '$5 == \"/\"' /proc/self/mountinfo")
    assert.matches(" shared:%d+ ", out)
  end)

  H.root_it("creates mount points inside itself only, following none of its symlinks", function()
    local link = rootfs .. "/escape"
    assert(os.execute("ln -s /etc " .. H.quote(link)))
    local ok, message = nsbox.run({ namespaces = { "mount" }, rootfs = rootfs,
      mounts = { { type = "tmpfs", target = "/escape/nsbox-spec" } } }, { "/bin/true" })
    os.remove(link)
    assert.is_nil(ok)
    assert.matches("^mount tmpfs on /escape/nsbox%-spec %(step %d+%): Not a directory$", message)
    assert.is_nil(H.slurp("/etc/nsbox-spec"))
  end)

  H.root_it("fails at run time naming the step when the directory is missing", function()
    local ok, message = nsbox.run({ namespaces = { "mount" }, rootfs = "/nonexistent-nsbox-root" }, { "true" })
    assert.is_nil(ok)
    assert.matches("^bind the rootfs /nonexistent%-nsbox%-root onto itself %(step %d+%): No such file or directory$",
      message)
  end)
end)

describe("recipes/rootfs.lua", function()
  local rootfs
  setup(function() if H.root then rootfs = B.rootfs() end end)
  teardown(function() if rootfs then B.remove(rootfs) end end)

  it("exits 125 with a usage message without a directory", function()
    local out, err, code = H.recipe("rootfs")
    assert.same({ "", "nsbox: usage: lua recipes/rootfs.lua DIR [CMD [ARG...]]\n", 125 }, { out, err, code })
  end)

  for _, nobody in ipairs { false, true } do
    H.root_it("runs CMD in DIR with /proc, a minimal /dev, a tmpfs /tmp" .. (nobody and ", unprivileged" or ""),
      function()
        local out, err, code = H.recipe("rootfs", { rootfs, "sh", "-c",
          "ls /; hostname; echo $$; ls /dev | tr '\\n' ' '; echo; stat -c %a /tmp; exit 3" }, { nobody = nobody })
        assert.equal(3, code, err)
        assert.equal("bin\ndev\netc\nproc\nsys\ntmp\nnsbox\n2\n"
          .. "fd full null ptmx pts random shm stderr stdin stdout urandom zero \n1777\n", out)
      end)
  end
end)

host_mounts_kept()
