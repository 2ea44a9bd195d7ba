-- The Lua API: nsbox.run, nsbox.spawn and the process handle.
local nsbox = require "nsbox"
local H = require "helpers"

local UTS = { namespaces = { "uts" }, hostname = "api" }

describe("nsbox.run", function()
  H.root_it("returns like os.execute", function()
    assert.same({ true, "exit", 0 }, { nsbox.run(UTS, { "true" }) })
    assert.same({ nil, "exit", 3 }, { nsbox.run(UTS, { "sh", "-c", "exit 3" }) })
    assert.same({ nil, "signal", 9 }, { nsbox.run(UTS, { "sh", "-c", "kill -KILL $$" }) })
  end)

  H.root_it("runs the command in the recipe's namespaces", function()
    local out, ok = H.capture(UTS, { "hostname" })
    assert.is_true(ok)
    assert.equal("api\n", out)
  end)

  H.root_it("reports a failing step by its description and errno text", function()
    local recipe = { namespaces = { "mount" }, mounts = { { type = "tmpfs", target = "/nonexistent-nsbox" } } }
    local ok, message, errno, step = nsbox.run(recipe, { "true" })
    assert.is_nil(ok)
    assert.equal("mount tmpfs on /nonexistent-nsbox (step 2): No such file or directory", message)
    assert.equal(2, errno)
    assert.equal("mount", step)
  end)

  H.root_it("reports an exec failure as the exec step", function()
    local ok, message, errno, step = nsbox.run(UTS, { "no-such-command-nsbox" })
    assert.is_nil(ok)
    assert.equal("exec no-such-command-nsbox (step 2): No such file or directory", message)
    assert.same({ 2, "exec" }, { errno, step })
  end)

  H.root_it("skips an optional bind whose source is missing, and fails a required one", function()
    local function bind(optional)
      return { namespaces = { "mount" },
        mounts = { { type = "bind", source = "/nonexistent-nsbox", target = "/mnt", optional = optional } } }
    end
    assert.is_true(nsbox.run(bind(true), { "true" }))
    local ok, message = nsbox.run(bind(false), { "true" })
    assert.is_nil(ok)
    assert.equal("bind /nonexistent-nsbox on /mnt (step 2): No such file or directory", message)
  end)

  H.root_it("makes a read-only bind read-only, submounts included", function()
    local dir = H.trim(H.sh("mktemp -d"))
    finally(function() H.sh("rm -rf " .. dir) end)
    local recipe = { namespaces = { "mount" }, mounts = {
      { type = "tmpfs", target = dir },
      { type = "ro_bind", source = "/dev", target = dir },
    } }
    local out, ok = H.capture(recipe, { "sh", "-c",
      "touch " .. dir .. "/x; touch " .. dir .. "/shm/x; grep ' " .. dir .. "/shm ' /proc/self/mountinfo" })
    assert.is_true(ok, out)
    assert.matches("touch: cannot touch '" .. dir .. "/x': Read%-only file system", out)
    assert.matches("cannot touch '" .. dir .. "/shm/x': Read%-only file system", out)
    assert.matches(" " .. dir .. "/shm ro,", out)
  end)

  H.root_it("sets the environment and working directory", function()
    local recipe = { namespaces = { "uts" }, env = { NSBOX_A = "a", HOME = false }, cwd = "/usr" }
    local out = H.capture(recipe, { "sh", "-c", 'echo "$NSBOX_A ${HOME-unset} $PWD"' })
    assert.equal("a unset /usr\n", out)
    -- the capturing shell adds PWD itself
    out = H.capture({ clearenv = true, env = { ONLY = "1" } }, { "/usr/bin/env" })
    assert.equal("ONLY=1\n", (out:gsub("PWD=[^\n]*\n", "")))
  end)

  it("raises for a bad argv, before anything is cloned", function()
    assert.has_error(function() nsbox.run(UTS, {}) end, "nsbox: 'argv' must not be empty")
    assert.has_error(function() nsbox.run(UTS, { 1 }) end, "nsbox: 'argv[1]' must be a string, got number")
  end)
end)

describe("nsbox.spawn", function()
  H.root_it("gives a handle with pid, wait and kill", function()
    local proc = assert(nsbox.spawn(UTS, { "sleep", "30" }))
    assert.is_true(proc.pid > 1)
    assert.equal(("nsbox.process{pid=%d, running}"):format(proc.pid), tostring(proc))
    assert.is_true(proc:kill("TERM"))
    assert.same({ nil, "signal", 15 }, { proc:wait() })
    assert.same({ nil, "signal", 15 }, { proc:wait() })
    assert.equal(("nsbox.process{pid=%d, signal 15}"):format(proc.pid), tostring(proc))
    local ok, message, errno = proc:kill()
    assert.same({ nil, "kill: No such process", 3 }, { ok, message, errno })
  end)

  H.root_it("kills and reaps an unwaited process on close, and closing twice is harmless", function()
    local pid
    do
      local proc <close> = assert(nsbox.spawn(UTS, { "sleep", "30" }))
      pid = proc.pid
    end
    assert.is_nil(io.open("/proc/" .. pid .. "/stat"))
    local proc = assert(nsbox.spawn(UTS, { "sleep", "30" }))
    proc:close()
    proc:close()
    assert.same({ nil, "signal", 9 }, { proc:wait() })
  end)

  H.root_it("reaps a forgotten process when the handle is collected", function()
    local pid = assert(nsbox.spawn(UTS, { "sleep", "30" })).pid
    collectgarbage()
    collectgarbage()
    assert.is_nil(io.open("/proc/" .. pid .. "/stat"))
  end)

  H.root_it("accepts signal names with or without SIG and numbers", function()
    for _, sig in ipairs { "int", "SIGINT", 2 } do
      local proc = assert(nsbox.spawn(UTS, { "sleep", "30" }))
      assert.is_true(proc:kill(sig))
      assert.same({ nil, "signal", 2 }, { proc:wait() })
    end
    local proc <close> = assert(nsbox.spawn(UTS, { "true" }))
    assert.has_error(function() proc:kill("NOPE") end)
  end)

  H.root_it_passes_sigterm_on("passes SIGTERM sent to the waiting parent on to the sandbox",
    '{ namespaces = { "uts" } }', "31.5")

  H.root_it("leaks no descriptor into the command", function()
    local f = assert(io.open("/etc/passwd"))
    finally(function() f:close() end)
    local out = H.capture(UTS, { "sh", "-c", "ls /proc/self/fd" })
    assert.equal("0\n1\n2\n3\n", out) -- 3 is ls's own directory
  end)
end)

describe("nsbox.core wrappers", function()
  local function in_lua(script, opts)
    return H.sh(((opts and opts.nobody) and H.NOBODY or "") .. "lua -e " .. H.quote(
      'package.path = "lua/?.lua;lua/?/init.lua;" .. package.path; package.cpath = "build/?.so;" .. package.cpath;'
      .. 'local core = require "nsbox.core"; ' .. script))
  end

  H.root_it("unshare, sethostname and setdomainname act on the calling process", function()
    local before = H.hostname()
    local out = in_lua([[
      print(core.unshare { "uts" })
      print(core.sethostname("inplace"), core.setdomainname("dom"))
      os.execute("hostname; domainname")
    ]])
    assert.equal("true\ntrue\ttrue\ninplace\ndom\n", out)
    assert.equal(before, H.hostname())
  end)

  H.root_it("mount and umount work inside an unshared mount namespace", function()
    local out = in_lua([[
      assert(core.unshare("mount"))
      assert(core.mount(nil, "/", nil, "rec,private"))
      print(core.mount("tmpfs", "/mnt", "tmpfs", { "nosuid", "size=1m" }))
      os.execute("grep -c ' /mnt ' /proc/self/mountinfo")
      print(core.umount("/mnt", "detach"))
      print(core.umount("/mnt"))
    ]])
    assert.equal("true\n1\ntrue\nnil\tumount /mnt: Invalid argument\t22\n", out)
  end)

  H.root_it("return nil, message, errno when not permitted", function()
    local out = in_lua([[
      print(core.sethostname("nope"))
      print(core.unshare("uts"))
      print(core.mount("tmpfs", "/mnt", "tmpfs"))
    ]], { nobody = true })
    assert.equal("nil\tsethostname: Operation not permitted\t1\nnil\tunshare: Operation not permitted\t1\n"
      .. "nil\tmount /mnt: Operation not permitted\t1\n", out)
  end)

  it("raise for a namespace name that does not exist", function()
    assert.has_error(function() nsbox.core.unshare { "utx" } end)
  end)
end)
