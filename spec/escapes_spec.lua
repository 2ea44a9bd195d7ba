-- Escapes of issue #9 that go through paths, each tried as root and as uid
-- 65534 and failing to get out: symlinks inside a rootfs must not defeat
-- `readonly`, `masked` or a mount's target (escape 4), and nothing may be
-- created on a mount the sandbox does not own, such as a bind of the host's
-- / (escape 6). After each, the host's file is checked to be unchanged.
local H = require "helpers"
local B = require "support.busybox"

local host_mounts_kept = H.host_mounts_kept("escape")

-- A recipe (Lua source of a table, with ROOTFS and HOST standing for the
-- spec's directories) run by a separate `lua` as root or as nobody: what
-- the command printed, or "nsbox: message" when the sandbox did not start.
local function attempt(nobody, recipe, script, dirs)
  local source = recipe:gsub("ROOTFS", ("%q"):format(dirs.rootfs or "")):gsub("HOST", ("%q"):format(dirs.host or ""))
  local namespaces = nobody and '{ "user", "mount", "pid" }' or '{ "mount", "pid" }'
  local lua = 'package.path = "lua/?.lua;lua/?/init.lua;" .. package.path; '
    .. 'package.cpath = "build/?.so;" .. package.cpath; local nsbox = require "nsbox"; '
    .. 'local r = nsbox.recipe({ namespaces = ' .. namespaces .. ', env = { PATH = "/bin:/usr/bin" } }, '
    .. source .. '); '
    .. 'local ok, how = nsbox.run(r, { "/bin/sh", "-c", ' .. ("%q"):format("exec 2>&1; " .. script) .. ' }); '
    .. 'if ok == nil and how ~= "exit" and how ~= "signal" then io.write("nsbox: ", how) end'
  local out, err = H.sh((nobody and H.NOBODY or "") .. "lua -e " .. H.quote(lua))
  return out .. err -- err: only a Lua error of the script's own
end

-- A directory of the host's that uid 65534 could write: only nsbox's rules keep the sandbox out.
local function host_dir()
  local dir = H.trim((H.sh("mktemp -d /tmp/nsbox-host.XXXXXX")))
  assert(os.execute("chmod 777 " .. H.quote(dir)))
  return dir
end

local function listing(dir)
  return (H.sh("ls -lA --full-time " .. H.quote(dir)))
end

for _, nobody in ipairs { false, true } do
  local who = nobody and " (as uid 65534)" or " (as root)"

  describe("escape 4: symlinks inside a rootfs" .. who, function()
    local rootfs
    setup(function()
      if not H.root then return end
      rootfs = B.rootfs { "bin", "realetc", "realdir", "realtmp" }
      H.write(rootfs .. "/realetc/conf", "original\n", "666")
      H.write(rootfs .. "/realetc/secret", "the secret\n", "644")
      H.write(rootfs .. "/realdir/inside", "", "644")
      H.write(rootfs .. "/realtmp/under", "", "644")
      assert(os.execute("chmod 777 " .. H.quote(rootfs .. "/realetc")))
      for link, target in pairs { etc2 = "/realetc", dir2 = "/realdir", tmp2 = "/realtmp", loop = "/loop" } do
        assert(os.execute(("ln -s %s %s"):format(target, H.quote(rootfs .. "/" .. link))))
      end
    end)
    teardown(function() if rootfs then B.remove(rootfs) end end)

    H.root_it("resolve inside it: readonly keeps /etc2/conf from being written", function()
      local out = attempt(nobody, '{ rootfs = ROOTFS, readonly = { "/etc2" } }',
        "echo changed > /etc2/conf && echo WROTE; echo changed > /realetc/conf && echo WROTE; cat /etc2/conf",
        { rootfs = rootfs })
      assert.equal("/bin/sh: can't create /etc2/conf: Read-only file system\n"
        .. "/bin/sh: can't create /realetc/conf: Read-only file system\noriginal\n", out)
      assert.equal("original\n", H.slurp(rootfs .. "/realetc/conf"))
    end)

    H.root_it("resolve inside it: masked hides /etc2/secret and the directory behind /dir2", function()
      local out = attempt(nobody, '{ rootfs = ROOTFS, masked = { "/etc2/secret", "/dir2" } }',
        "wc -c < /etc2/secret; wc -c < /realetc/secret; ls -A /dir2 /realdir | wc -l", { rootfs = rootfs })
      assert.equal("0\n0\n3\n", out) -- "/dir2:", "/realdir:" and an empty line: no "inside"
      assert.equal("the secret\n", H.slurp(rootfs .. "/realetc/secret"))
    end)

    H.root_it("resolve inside it: a tmpfs on /tmp2 lands on the rootfs's /realtmp, not the host's", function()
      local out = attempt(nobody, '{ rootfs = ROOTFS, mounts = { { type = "tmpfs", target = "/tmp2" } } }',
        "ls -A /tmp2 /realtmp", { rootfs = rootfs })
      assert.equal("/realtmp:\n\n/tmp2:\n", out)
      assert.truthy(H.slurp(rootfs .. "/realtmp/under"))
    end)

    H.root_it("fail closed: a readonly path that cannot be resolved is an error, not skipped", function()
      local out = attempt(nobody, '{ rootfs = ROOTFS, readonly = { "/loop/x" } }', "echo started", { rootfs = rootfs })
      assert.matches("^nsbox: make /loop/x read%-only %(step %d+%): Too many levels of symbolic links$", out)
    end)
  end)

  describe("escape 6: creating through a bind of the host's /" .. who, function()
    local host, rootfs
    before_each(function()
      if not H.root then return end
      host = host_dir()
      H.write(host .. "/victim", "original\n", "666")
      rootfs = B.rootfs { "bin", "host" }
    end)
    after_each(function()
      if host then os.execute("rm -rf " .. H.quote(host)) end
      if rootfs then B.remove(rootfs) end
    end)

    local REFUSED = "it would land on a mount the sandbox does not own %(only its rootfs and the tmpfs "
      .. "and dev mounts of its recipe are its own%); the host's files never change$"
    local cases = {
      { "a file under a tmpfs, / bound below it", '{ mounts = { { type = "tmpfs", target = "/mnt" }, '
        .. '{ type = "bind", source = "/", target = "/mnt/host" }, '
        .. '{ type = "file", target = "/mnt/host" .. HOST .. "/escaped", content = "x" } } }',
        "^nsbox: write file /mnt/host/tmp/nsbox%-host%.%w+/escaped %(step %d+%): " },
      { "a dir under a tmpfs overmounted by /", '{ mounts = { { type = "tmpfs", target = "/mnt" }, '
        .. '{ type = "bind", source = "/", target = "/mnt" }, '
        .. '{ type = "dir", target = "/mnt" .. HOST .. "/escaped" } } }',
        "^nsbox: create directory /mnt/tmp/nsbox%-host%.%w+/escaped %(step %d+%): " },
      { "a symlink inside a rootfs, / bound into it", '{ rootfs = ROOTFS, mounts = { '
        .. '{ type = "bind", source = "/", target = "/host" }, '
        .. '{ type = "symlink", source = "x", target = "/host" .. HOST .. "/escaped" } } }',
        "^nsbox: symlink /host/tmp/nsbox%-host%.%w+/escaped %-> x %(step %d+%): " },
      { "a mount point inside a rootfs, / bound into it", '{ rootfs = ROOTFS, mounts = { '
        .. '{ type = "bind", source = "/", target = "/host" }, '
        .. '{ type = "tmpfs", target = "/host" .. HOST .. "/escaped" } } }',
        "^nsbox: mount tmpfs on /host/tmp/nsbox%-host%.%w+/escaped %(step %d+%): " },
      { "a file rewritten where a host file is bound in a tmpfs", '{ mounts = { { type = "tmpfs", target = "/mnt" }, '
        .. '{ type = "bind", source = HOST .. "/victim", target = "/mnt/f" }, '
        .. '{ type = "file", target = "/mnt/f", content = "changed" } } }',
        "^nsbox: write file /mnt/f %(step %d+%): " },
    }
    H.root_it("is refused: a sysctl written into a host file bound over /proc/sys", function()
      local before = listing(host)
      local out = attempt(nobody, '{ namespaces = { "ipc" }, sysctl = { ["kernel.shmmni"] = "77" }, mounts = { '
        .. '{ type = "proc", target = "/proc" }, '
        .. '{ type = "bind", source = HOST .. "/victim", target = "/proc/sys/kernel/shmmni" } } }',
        "echo started", { host = host })
      assert.matches("^nsbox: set sysctl kernel.shmmni to 77 %(step %d+%): the path is not on a proc filesystem", out)
      assert.equal(before, listing(host))
      assert.equal("original\n", H.slurp(host .. "/victim"))
    end)

    for _, case in ipairs(cases) do
      H.root_it("is refused: " .. case[1], function()
        local before = listing(host)
        local out = attempt(nobody, case[2], "echo started", { rootfs = rootfs, host = host })
        assert.matches(case[3] .. REFUSED, out)
        assert.equal(before, listing(host))
        assert.equal("original\n", H.slurp(host .. "/victim"))
      end)
    end
  end)
end

describe("escape 6: a rootfs that is the host's /", function()
  local NS = { "mount" }
  local function refused(rootfs)
    return H.recipe_error { namespaces = NS, rootfs = rootfs }
  end

  it("is refused before any fork", function()
    assert.matches("'rootfs' must not be the host's root directory ('/' is /)", refused("/"), 1, true)
  end)

  it("is refused under another name", function()
    local dir = H.trim((H.sh("mktemp -d /tmp/nsbox-host.XXXXXX")))
    finally(function() os.execute("rm -rf " .. H.quote(dir)) end)
    assert(os.execute("ln -s / " .. H.quote(dir .. "/root")))
    local err = refused(dir .. "/root")
    assert.matches("'rootfs' must not be the host's root directory", err, 1, true)
  end)
end)

host_mounts_kept()
