-- Joining namespaces (nsenter), the cgroup and time namespaces, and
-- unshare/setns on the calling process.
local nsbox = require "nsbox"
local H = require "helpers"

-- A sandbox to join: its own hostname, processes, network and a tmpfs marker
-- in its working directory, the command itself PID 1 (no init, so that its
-- pid is the one to join). Returns its pid and a function that ends it.
local function start_target()
  local target = assert(nsbox.spawn({
    namespaces = { "uts", "pid", "mount", "net", "ipc" }, hostname = "target", init = false,
    mounts = { { type = "proc", target = "/proc" }, { type = "tmpfs", target = "/mnt" } },
  }, { "sh", "-c", "echo marker > /mnt/m; cd /mnt; exec sleep 30" }))
  H.sh("sleep 0.3")
  return target.pid, function() target:kill("KILL"); target:wait() end
end

local function in_lua(script)
  return H.sh("lua -e " .. H.quote('package.path = "lua/?.lua;lua/?/init.lua;" .. package.path; '
    .. 'package.cpath = "build/?.so;" .. package.cpath; local nsbox = require "nsbox"; local core = nsbox.core; '
    .. script))
end

describe("recipes/enter.lua", function()
  H.root_it("joins every namespace of PID that differs: hostname, processes, mounts, cwd, links", function()
    local pid, stop = start_target()
    finally(stop)
    local out, err, code = H.recipe("enter", { tostring(pid), "sh", "-c",
      -- ps alone first: a pipeline's later commands may still be forked shells when it looks
      "hostname; p=$(ps -e -o comm=); echo $p; pwd; cat m; ip -o link | wc -l" })
    assert.equal(0, code, err)
    assert.equal("target\nsleep sh ps\n/mnt\nmarker\n1\n", out)
  end)

  it("fails with a message for a dead pid, and a usage error without one", function()
    local _, err, code = H.recipe("enter", { "999999", "true" })
    assert.equal(125, code)
    assert.equal("nsbox: join: namespaces of pid 999999: No such process\n", err)
    _, err, code = H.recipe("enter", {})
    assert.equal(125, code)
    assert.equal("nsbox: usage: lua recipes/enter.lua [--preserve-credentials] PID [CMD [ARG...]]\n", err)
  end)
end)

describe("join", function()
  H.root_it("enters one namespace by pid, by path or by open file, next to new ones", function()
    local pid, stop = start_target()
    finally(stop)
    local path = "/proc/" .. pid .. "/ns/uts"
    local file = assert(io.open(path))
    finally(function() file:close() end)
    for _, target in ipairs { pid, path, file } do
      local out = H.capture({ join = { uts = target }, namespaces = { "ipc" } }, { "hostname" })
      assert.equal("target\n", out)
    end
  end)

  H.root_it("runs the command as a child in a joined pid namespace", function()
    local pid, stop = start_target()
    finally(stop)
    local out = H.capture({ join = { pid = pid, mount = pid } }, { "sh", "-c", "ps -e -o pid=,comm= | head -n 1" })
    assert.matches("^%s*1 sleep\n$", out)
  end)

  it("rejects a bad type, a bad target, and a namespace both joined and created", function()
    assert.has_error(function() nsbox.recipe { join = { nett = 1 } } end)
    assert.matches("join: unknown namespace 'nett' %(did you mean 'net'%?%)", H.recipe_error { join = { nett = 1 } })
    assert.matches("'join.net' must be an absolute path", H.recipe_error { join = { net = "relative" } })
    assert.matches("'join.net': the net namespace cannot be both joined and created",
      H.recipe_error { join = { net = 1 }, namespaces = { "net" } })
  end)

  H.root_it("reports a join that fails in the child by its step", function()
    local ok, message, errno = nsbox.run({ join = { net = "/proc/self/ns/uts" } }, { "true" })
    assert.is_nil(ok)
    assert.equal("join the net namespace of /proc/self/ns/uts (step 1): Invalid argument", message)
    assert.equal(22, errno)
  end)
end)

describe("the cgroup namespace", function()
  H.root_it("roots the command's cgroup paths at /", function()
    local dir = "/sys/fs/cgroup/unified/nsbox-spec-" .. math.random(1e9)
    if not H.sh("test -d /sys/fs/cgroup/unified && echo yes"):match("yes") then
      dir = "/sys/fs/cgroup/nsbox-spec-" .. math.random(1e9)
    end
    assert(H.sh("mkdir " .. dir .. " && echo ok"):match("ok"))
    finally(function() H.sh("rmdir " .. dir) end)
    local out = H.sh("sh -c " .. H.quote("echo $$ > " .. dir .. "/cgroup.procs; grep '^0::' /proc/self/cgroup; "
      .. "lua recipes/cgroup.lua grep '^0::' /proc/self/cgroup"))
    assert.equal("0::/" .. dir:match("[^/]+$") .. "\n0::/\n", out)
  end)
end)

describe("the time namespace", function()
  H.root_it("shifts /proc/uptime by the boottime offset, as root and unprivileged", function()
    for _, opts in ipairs { {}, { nobody = true } } do
      local host = tonumber(H.slurp("/proc/uptime"):match("^(%S+)"))
      local out, err, code = H.recipe("time", {}, opts)
      assert.equal(0, code, err)
      local inside = tonumber(out:match("^(%S+)"))
      assert.is_true(math.abs(inside - host - 86400) < 1, out)
    end
  end)

  H.root_it("runs CMD under an init in a new pid namespace, and takes fractions and negative offsets", function()
    local r = { namespaces = { "time", "pid", "mount" }, time = { monotonic = -1.5, boottime = 0.25 },
      mounts = { { type = "proc", target = "/proc" } } }
    local out = H.capture(r, { "sh", "-c", "echo $$; cat /proc/self/timens_offsets" })
    assert.equal("2\nmonotonic          -2 500000000\nboottime            0 250000000\n", out)
  end)

  it("refuses offsets without the namespace", function()
    assert.matches("'time' needs the 'time' namespace", H.recipe_error { time = { boottime = 1 } })
    assert.matches("time: unknown key 'realtime'", H.recipe_error { namespaces = { "time" }, time = { realtime = 1 } })
  end)
end)

describe("nsbox.core unshare and setns", function()
  H.root_it("unshare moves the caller; a new pid namespace takes only its children", function()
    local out = in_lua([[
      local before = nsbox.namespaces()
      print(core.unshare { "uts", "pid" })
      local after = nsbox.namespaces()
      print(before.uts.id ~= after.uts.id, before.pid.id == after.pid.id, after.pid_for_children)
      os.execute("true") -- the first child makes the new PID namespace exist
      print(nsbox.namespaces().pid_for_children.id ~= before.pid_for_children.id)
    ]])
    assert.equal("true\ntrue\ttrue\tnil\ntrue\n", out)
  end)

  H.root_it("setns joins a process's namespace by pid, path or file", function()
    local pid, stop = start_target()
    finally(stop)
    local out = in_lua(([[
      print(core.setns(%d, "uts")); os.execute("hostname")
      assert(core.unshare("uts")); assert(core.sethostname("other"))
      print(core.setns("/proc/%d/ns/uts", "uts")); os.execute("hostname")
      print(core.setns(999999, "uts"))
    ]]):format(pid, pid))
    assert.equal("true\ntarget\ntrue\ntarget\nnil\tsetns: No such process\t3\n", out)
  end)
end)
