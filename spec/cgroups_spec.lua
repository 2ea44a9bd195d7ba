-- The cgroup key: limits applied in fresh cgroups beneath the caller's own,
-- removed at the end. Units and layouts are table-tested; the rest runs on
-- this host's layout as root.
local H = require "helpers"
local nsbox = require "nsbox"
local cgroups = require "nsbox.cgroups"

local HYBRID = table.concat({
  "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755",
  "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct",
  "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory",
  "39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids",
  "40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd",
  "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw",
}, "\n")
local HYBRID_MEMBERS = "4:memory:/box\n2:cpu,cpuacct:/\n1:pids:/\n0::/user.slice\n"
local UNIFIED = "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate"
local UNIFIED_MEMBERS = "0::/user.slice/me\n"

local function reader(files)
  return function(path) return files[path] end
end

local function all_writable() return true end
-- The message of a refusal, raised by a public function (text) or by a check inside (check.Invalid).
local function refused(fn, ...)
  local err = H.refusal(fn, ...)
  return type(err) == "table" and err.message or tostring(err)
end

-- The writes of a placement: { [dir] = { "file=value", ... } }
local function writes(layout, limits)
  local out = {}
  for _, c in ipairs(cgroups.placement(layout, limits, false, all_writable, error)) do
    local list = {}
    for _, w in ipairs(c.writes) do list[#list + 1] = w[2] .. "=" .. w[3] end
    out[c.dir] = list
  end
  return out
end

-- A recipe script's shape: nsbox.cli.main runs LIMITS and exits as the scripts do.
local LIMITED = "lua -e " .. H.quote('package.path = "lua/?.lua;lua/?/init.lua;" .. package.path; '
  .. 'package.cpath = "build/?.so;" .. package.cpath; nsbox = require "nsbox"; '
  .. 'LIMITS = { cgroup = { limits = { memory = "64m", memory_swap = "64m", pids = 64 } } }') .. " -e "

-- Our own cgroups left on the host, by name.
local function ours()
  return (H.sh("find /sys/fs/cgroup -type d -name 'nsbox-spec-*' -o -type d -name \"nsbox-$PPID-*\""))
end

-- Runs script (Lua, with nsbox loaded) in a caller of its own, then SIGKILLs that caller once a process
-- with command line `running` is there (and meanwhile() has run).
local function killed_caller(script, running, meanwhile)
  local caller = 'package.path = "lua/?.lua;lua/?/init.lua;" .. package.path; '
    .. 'package.cpath = "build/?.so;" .. package.cpath; local nsbox = require "nsbox"; ' .. script
  local pid = H.trim(H.sh("lua -e " .. H.quote(caller) .. " >/dev/null 2>&1 & echo $!"))
  H.sh("for i in $(seq 100); do pgrep -f " .. H.quote("^" .. running .. "$") .. " >/dev/null && break; sleep 0.1; done")
  if meanwhile then meanwhile() end
  H.sh("kill -KILL " .. pid .. "; for i in $(seq 100); do kill -0 " .. pid .. " 2>/dev/null || break; sleep 0.1; done")
end

describe("cgroup values", function()
  it("reads sizes with k, m, g, t suffixes and names the key of a bad one", function()
    assert.equal(64 * 1024 * 1024, cgroups.size("64m", "x"))
    assert.equal(1024, cgroups.size("1k", "x"))
    assert.equal(3 * 2 ^ 30, cgroups.size("3G", "x"))
    assert.equal(4096, cgroups.size(4096, "x"))
    assert.matches("'cgroup.limits.memory' must be a size", refused(cgroups.size, "64q", "cgroup.limits.memory"))
    assert.matches("must be a size", refused(cgroups.size, "99999999999999999999t", "x"))
    assert.equal("64m", cgroups.format_size(64 * 1024 * 1024))
    assert.equal("1536k", cgroups.format_size(1536 * 1024))
  end)

  it("turns CPUs into a quota per 100ms period", function()
    assert.same({ quota = 50000, period = 100000 }, cgroups.cpu(0.5, "x"))
    assert.same({ quota = 20000, period = 50000 }, cgroups.cpu({ quota = 20000, period = 50000 }, "x"))
    assert.matches("'cgroup.limits.cpu' must be a number of CPUs", refused(cgroups.cpu, 0, "cgroup.limits.cpu"))
  end)

  it("converts weights as crun does", function()
    assert.equal(1, cgroups.shares_to_weight(2))
    assert.equal(10000, cgroups.shares_to_weight(262144))
    assert.equal(2597, cgroups.weight_to_shares(100))
    assert.equal(1, cgroups.blkio_to_io_weight(10))
    assert.equal(10000, cgroups.blkio_to_io_weight(1000))
    assert.equal(10, cgroups.io_to_blkio_weight(1))
  end)

  it("refuses bad limits naming the key, before looking at the host", function()
    local cases = {
      { { limits = { memroy = "1m" } }, "cgroup.limits: unknown key 'memroy'.*memory" },
      { { limits = { pids = 0 } }, "'cgroup.limits.pids' must be a number of processes from 1" },
      { { limits = { cpuset = "0-x" } }, "'cgroup.limits.cpuset' must be a list of numbers and ranges" },
      { { limits = { cpuset = "4095" } }, "'cgroup.limits.cpuset': CPU 4095 is not on this host" },
      { { limits = { memory_swap = "1m" } }, "'cgroup.limits.memory_swap' %(memory plus swap%) needs" },
      { { limits = { memory = "2m", memory_swap = "1m" } }, "must be at least 'cgroup.limits.memory' %(2m%)" },
      { { limits = { io_max = { sda = {} } } }, "devices are \"MAJOR:MINOR\"" },
      { { name = "../up" }, "'cgroup.name' must be one directory name" },
      { { parth = "x" }, "cgroup: unknown key 'parth' %(did you mean 'path'%?%)" },
      { { path = "a/../b" }, "'cgroup.path' must be a path of directory names" },
      { { path = "a/" }, "'cgroup.path' must name a directory to make" },
      { { path = "a", name = "b" }, "'cgroup.name' and 'cgroup.path' both name the cgroup: give one" },
      { { limits = { cpu_weight = 100, cpu_shares = 1024 } }, "cpu_weight and cpu_shares are two scales of one" },
      { { limits = { devices = { "allow a 1:3 rwm" } } }, "'cgroup.limits.devices%[1%]' must be a rule like" },
      { { limits = { devices = { "allow c 1:3 rwq" } } }, "'cgroup.limits.devices%[1%]' must be a rule like" },
      { { limits = { hugetlb = { ["2M"] = 1 } } }, "'cgroup.limits.hugetlb': page sizes are strings like \"2MB\"" },
      { { unified = { ["cgroup.procs"] = "1" } }, "'cgroup.unified%[\"cgroup.procs\"%]': a cgroup v2 file of a" },
    }
    for _, case in ipairs(cases) do
      assert.matches(case[2], refused(nsbox.recipe, { cgroup = case[1] }))
    end
  end)
end)

describe("cgroup layouts", function()
  it("tells unified, hybrid and legacy hosts apart, with the caller's cgroup in each hierarchy", function()
    local hybrid = cgroups.layout(HYBRID, HYBRID_MEMBERS, reader {})
    assert.equal("hybrid", hybrid.kind)
    assert.equal("/sys/fs/cgroup/memory/box", hybrid.v1.memory.dir)
    assert.equal("/sys/fs/cgroup/cpu,cpuacct", hybrid.v1.cpuacct.dir)
    assert.equal("/sys/fs/cgroup/unified/user.slice", hybrid.v2.dir)
    local unified = cgroups.layout(UNIFIED, UNIFIED_MEMBERS, reader {})
    assert.equal("unified", unified.kind)
    assert.equal("/sys/fs/cgroup/user.slice/me", unified.v2.dir)
    local legacy = cgroups.layout(HYBRID:gsub("\n[^\n]*cgroup2[^\n]*", ""), HYBRID_MEMBERS, reader {})
    assert.equal("legacy", legacy.kind)
  end)

  it("writes v2 files where the caller's v2 cgroup delegates the controller", function()
    local layout = cgroups.layout(UNIFIED, UNIFIED_MEMBERS, reader {
      ["/sys/fs/cgroup/user.slice/me/cgroup.subtree_control"] = "cpu io memory pids\n",
      ["/sys/fs/cgroup/user.slice/me/cgroup.controllers"] = "cpu io memory pids\n",
    })
    assert.same({ ["/sys/fs/cgroup/user.slice/me"] = {
      "memory.max=67108864", "memory.high=33554432", "memory.swap.max=0", "pids.max=64", "cpu.max=20000 100000",
      "cpu.weight=100", "io.weight=default 500", "io.max=8:0 rbps=1048576 wiops=10",
    } }, writes(layout, { memory = 64 << 20, memory_high = 32 << 20, memory_swap = 64 << 20, pids = 64,
      cpu = { quota = 20000, period = 100000 }, cpu_weight = 100, io_weight = 500,
      io_max = { { device = "8:0", rbps = 1048576, wiops = 10 } } }))
  end)

  it("writes v1 files on a hybrid host, and makes the v2 cgroup too (for clone3 and cgroup.kill)", function()
    local layout = cgroups.layout(HYBRID, HYBRID_MEMBERS, reader {})
    assert.same({
      ["/sys/fs/cgroup/unified/user.slice"] = {},
      ["/sys/fs/cgroup/memory/box"] = { "memory.limit_in_bytes=67108864", "memory.memsw.limit_in_bytes=67108864" },
      ["/sys/fs/cgroup/pids"] = { "pids.max=64" },
      ["/sys/fs/cgroup/cpu,cpuacct"] = { "cpu.cfs_period_us=100000", "cpu.cfs_quota_us=50000", "cpu.shares=2597" },
    }, writes(layout, { memory = 64 << 20, memory_swap = 64 << 20, pids = 64,
      cpu = { quota = 50000, period = 100000 }, cpu_weight = 100 }))
    local first = cgroups.placement(layout, {}, false, all_writable, error)[1]
    assert.same({ 2, "/sys/fs/cgroup/unified/user.slice" }, { first.version, first.dir })
  end)

  it("refuses a limit the host cannot apply, naming the controller and what the host has", function()
    local layout = cgroups.layout(HYBRID, HYBRID_MEMBERS, reader {})
    assert.matches("'cgroup.limits.memory_high': cgroup v1's memory controller has no memory_high.*"
      .. "cgroup v1 controllers cpu, cpuacct, memory, pids",
      refused(cgroups.placement, layout, { memory_high = 1 }, false, all_writable, error))
    assert.matches("'cgroup.limits.io_weight': this host has no io controller: cgroup v2 at "
      .. "/sys/fs/cgroup/unified/user.slice delegating no controller",
      refused(cgroups.placement, layout, { io_weight = 1 }, false, all_writable, error))
    local warned
    cgroups.placement(layout, { io_weight = 1 }, true, all_writable, function(m) warned = m end)
    assert.matches("'cgroup.limits.io_weight' not applied %(best_effort%)", warned)
  end)

  it("writes devices, hugetlb, shares, blkio weights and cgroup.unified files where the host has them", function()
    local layout = cgroups.layout(HYBRID .. "\n36 31 0:33 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices",
      HYBRID_MEMBERS .. "5:devices:/\n", reader {})
    local placed = writes(layout, { devices = { "deny a", "allow c 1:3 rwm" }, cpu_shares = 1024 })
    assert.same({ "devices.deny=a", "devices.allow=c 1:3 rwm" }, placed["/sys/fs/cgroup/devices"])
    assert.same({ "cpu.shares=1024" }, placed["/sys/fs/cgroup/cpu,cpuacct"])
    local unified = cgroups.layout(UNIFIED, UNIFIED_MEMBERS, reader {
      ["/sys/fs/cgroup/user.slice/me/cgroup.subtree_control"] = "cpu hugetlb io memory\n",
    })
    local c = cgroups.placement(unified, { cpu_shares = 1024, blkio_weight = 500, memory_reservation = 1 << 20,
      hugetlb = { { size = "2MB", bytes = 2 << 20 } } }, false, all_writable, error, {
      unified = { { "memory.high", "50m" }, { "cgroup.max.depth", "2" } } })[1]
    local list = {}
    for _, w in ipairs(c.writes) do list[#list + 1] = w[2] .. "=" .. w[3] end
    assert.same({ "memory.low=1048576", "cpu.weight=39", "io.weight=default 4950", "hugetlb.2MB.max=2097152",
      "memory.high=50m", "cgroup.max.depth=2" }, list)
  end)

  it("refuses device rules, hugetlb and cgroup.unified files the host cannot take, naming the key", function()
    local hybrid = cgroups.layout(HYBRID, HYBRID_MEMBERS, reader {})
    local unified = cgroups.layout(UNIFIED, UNIFIED_MEMBERS, reader {})
    assert.matches("^'cgroup.limits.devices': devices need cgroup v1's devices controller %(cgroup v2 controls "
      .. "devices with an eBPF program, which nsbox does not load%); this host has cgroup v2 at /sys/fs/cgroup/user",
      refused(cgroups.placement, unified, { devices = { "deny a" } }, false, all_writable, error))
    assert.matches("^'cgroup.limits.hugetlb': this host has no hugetlb controller: cgroup v2 at",
      refused(cgroups.placement, hybrid, { hugetlb = {} }, false, all_writable, error))
    assert.matches("^'cgroup.unified%[\"memory.high\"%]': the caller's cgroup v2 "
      .. "/sys/fs/cgroup/unified/user.slice delegates no memory controller",
      refused(cgroups.placement, hybrid, {}, false, all_writable, error, { unified = { { "memory.high", "1" } } }))
  end)

  it("places cgroup.path beneath the caller's cgroup of each hierarchy, refusing an absolute one elsewhere", function()
    local hybrid = cgroups.layout(HYBRID:gsub("\n[^\n]*cgroup2[^\n]*", ""), HYBRID_MEMBERS, reader {})
    local below = {}
    for _, c in ipairs(cgroups.placement(hybrid, {}, false, all_writable, error, { path = "/box/ctr" })) do
      below[c.dir] = c.below
    end
    assert.same({ ["/sys/fs/cgroup/memory/box"] = "ctr", ["/sys/fs/cgroup/pids"] = "box/ctr",
      ["/sys/fs/cgroup/cpu,cpuacct"] = "box/ctr" }, below)
    assert.equal("a/b", cgroups.placement(hybrid, {}, false, all_writable, error, { path = "a/b" })[1].below)
    assert.matches("^'cgroup.path' /ctr is not beneath the caller's own cgroup /sys/fs/cgroup/memory/box: nsbox makes "
      .. "cgroups only beneath the caller's",
      refused(cgroups.placement, hybrid, {}, false, all_writable, error, { path = "/ctr" }))
    assert.matches("^'cgroup.path' /box is not beneath",
      refused(cgroups.placement, hybrid, {}, false, all_writable, error, { path = "/box" }))
    assert.matches("^'cgroup.path' a/b/c/d/e/f/g is 7 levels beneath the caller's cgroup .*; nsbox makes at most 6",
      refused(cgroups.placement, hybrid, {}, false, all_writable, error, { path = "a/b/c/d/e/f/g" }))
  end)

  it("refuses limits where the caller may not create cgroups, saying why", function()
    local layout = cgroups.layout(UNIFIED, UNIFIED_MEMBERS, reader {
      ["/sys/fs/cgroup/user.slice/me/cgroup.subtree_control"] = "memory\n",
    })
    local function nowhere() return false end
    assert.matches("'cgroup.limits.memory': the caller %(uid %d+%) may not create cgroups beneath its own cgroup "
      .. "/sys/fs/cgroup/user.slice/me; limits without root need a cgroup v2 subtree delegated",
      refused(cgroups.placement, layout, { memory = 1 }, false, nowhere, error))
    assert.matches("'cgroup': the caller .* may not create cgroups",
      refused(cgroups.placement, layout, {}, false, nowhere, error))
  end)
end)

describe("cgroups on this host", function()
  after_each(function() assert.equal("", ours()) end)

  H.root_it("kill a memory hog at the limit and say so: reason oom, and the recipe script's message", function()
    local r = nsbox.recipe { cgroup = { limits = { memory = "64m", memory_swap = "64m" } } }
    local ok, how, code, reason, usage = nsbox.run(r, { "tail", "/dev/zero" })
    assert.same({ nil, "signal", 9, "oom" }, { ok, how, code, reason })
    assert.equal(64 << 20, usage.memory_limit)
    assert.is_true(usage.oom_kills >= 1)
    assert.is_true(usage.memory_peak <= 64 << 20)
    local _, err, status = H.sh(LIMITED .. H.quote('nsbox.cli.main(LIMITS, { "tail", "/dev/zero" })'))
    assert.equal("nsbox: killed by the out-of-memory killer (memory limit 64m)\n", err)
    assert.equal(137, status)
  end)

  H.root_it("stop a fork bomb at the pids limit, and kill what it left when its shell ends", function()
    local r = nsbox.recipe { cgroup = { name = "nsbox-spec-pids", limits = { pids = 8 } } }
    local out, ok, how, code = H.capture(r, { "sh", "-c",
      "i=0; while [ $i -lt 40 ]; do sleep 41.7 & i=$((i+1)); done; echo never" })
    assert.matches("fork", out)
    assert.is_nil(ok)
    assert.same({ "exit", 2 }, { how, code })
    assert.equal("", H.sh("pgrep -f '^sleep 41.7$'"))
  end)

  H.root_it("honour a cpuset, and show the sandbox its cgroups as / in a cgroup namespace", function()
    local out = H.capture(nsbox.recipe { namespaces = { "cgroup" }, cgroup = { limits = { cpuset = "1" } } },
      { "sh", "-c", "grep Cpus_allowed_list /proc/self/status; cat /proc/self/cgroup" })
    assert.matches("Cpus_allowed_list:%s+1\n", out)
    assert.matches("\n%d+:cpuset:/\n", out)
    assert.matches("\n0::/\n", out)
    assert.matches("\n%d+:memory:/\n", out)
  end)

  H.root_it("run the command in the v2 cgroup from its first instruction (clone3), and give its usage", function()
    local proc = nsbox.spawn(nsbox.recipe { cgroup = { name = "nsbox-spec-v2" } }, { "cat", "/proc/self/cgroup" },
      { stdout = "pipe" })
    local out = proc.stdout:read("a")
    assert.is_true(proc:wait())
    assert.matches("\n0::/nsbox%-spec%-v2\n", out)
    local usage = proc:stats()
    assert.is_true(usage.cpu_usec >= 0 and usage.pids_peak >= 1 and usage.memory_peak > 0)
    assert.same({ nil, "stats: the sandbox has no cgroup (recipe key 'cgroup')" },
      { nsbox.spawn({}, { "true" }):stats() })
  end)

  H.root_it("remove the cgroups when a handle is closed, collected, or its command killed", function()
    local r = nsbox.recipe { cgroup = { name = "nsbox-spec-close" } }
    do
      local proc <close> = nsbox.spawn(r, { "sleep", "30" })
      assert.is_not_nil(proc.pid)
      assert.matches("nsbox%-spec%-close", ours())
    end
    assert.equal("", ours())
    nsbox.spawn(r, { "sleep", "30" })
    collectgarbage(); collectgarbage()
    assert.equal("", ours())
    local proc = nsbox.spawn(r, { "sh", "-c", "sleep 42.3 & sleep 30" })
    proc:kill("KILL")
    assert.same({ nil, "signal", 9 }, { proc:wait() })
    assert.equal("", H.sh("pgrep -f '^sleep 42.3$'"))
  end)

  H.root_it("remove the cgroups with die_with_parent even when the caller is killed", function()
    killed_caller('nsbox.run({ die_with_parent = true, cgroup = { name = "nsbox-spec-orphan" } }, '
      .. '{ "sh", "-c", "sleep 43.1 & sleep 43.2" })', "sleep 43.2")
    H.sh("for i in $(seq 100); do [ -e /sys/fs/cgroup/unified/nsbox-spec-orphan ] || break; sleep 0.1; done")
    assert.equal("", ours())
    assert.equal("", H.sh("pgrep -f '^sleep 43'"))
  end)

  -- A's end, normal or by its caller's death, leaves B's cgroup beside it in the parent A made alone.
  local SHARED = "/sys/fs/cgroup/unified/nsbox-spec-shared"
  -- The parent stays where B's cgroup was made in it after A made it: it is B's then (doc/cgroups.md).
  local function remove_shared() H.sh("find /sys/fs/cgroup -depth -type d -name nsbox-spec-shared -exec rmdir {} +") end
  local function still_running(proc)
    H.sh("for i in $(seq 20); do kill -0 " .. proc.pid .. " 2>/dev/null || break; sleep 0.1; done")
    proc:kill("TERM")
    return proc:wait()
  end

  H.root_it("leave a parent's other cgroups alone when a sandbox in it ends, with or without die_with_parent",
    function()
      H.on_end(remove_shared)
      for _, die_with_parent in ipairs { false, true } do
        local a = nsbox.spawn({ cgroup = { path = "nsbox-spec-shared/a" }, die_with_parent = die_with_parent },
          { "sleep", "30" })
        local b = nsbox.spawn({ cgroup = { path = "nsbox-spec-shared/b" } }, { "sleep", "30" })
        a:kill("TERM")
        assert.same({ nil, "signal", 15 }, { a:wait() })
        assert.same({ nil, "signal", 15 }, { still_running(b) })
        assert.equal("", H.sh("test -d " .. SHARED .. "/a && echo left"))
        remove_shared() -- so that the next A makes the parent again
      end
    end)

  H.root_it("leave a parent's other cgroups alone when the caller of a sandbox in it dies", function()
    H.on_end(remove_shared)
    local b
    killed_caller('nsbox.run({ die_with_parent = true, cgroup = { path = "nsbox-spec-shared/a" } }, '
      .. '{ "sleep", "43.3" })', "sleep 43.3", function()
        b = nsbox.spawn({ cgroup = { path = "nsbox-spec-shared/b" } }, { "sleep", "30" })
      end)
    H.sh("for i in $(seq 100); do [ -e " .. SHARED .. "/a ] || break; sleep 0.1; done")
    assert.equal("", H.sh("test -d " .. SHARED .. "/a && echo left"))
    assert.same({ nil, "signal", 15 }, { still_running(b) })
  end)

  H.root_it("let a cgroup name be taken again at once after a die_with_parent sandbox's end", function()
    local r = nsbox.recipe { cgroup = { name = "nsbox-spec-again" }, die_with_parent = true }
    for _ = 1, 20 do
      local ok, how_or_message = nsbox.run(r, { "true" })
      assert.same({ true, "exit" }, { ok, how_or_message })
    end
    assert.equal("", ours())
  end)

  H.root_it("make an absolute cgroup.path beneath the caller's cgroups, with its parents, and remove all it made",
    function()
      local own = H.deepest_own_cgroup()
      if not own then return pending("the caller's cgroups are not on one path") end
      local path = own .. "/nsbox-spec-abs/inner"
      local before = H.missing_cgroups(path)
      local out = H.capture(nsbox.recipe { cgroup = { path = path, unified = { ["cgroup.max.depth"] = 1 } } },
        { "sh", "-c", "cat /proc/self/cgroup; cat /sys/fs/cgroup/unified$(grep ^0:: /proc/self/cgroup | cut -d: -f3)"
          .. "/cgroup.max.depth" })
      assert.matches("\n%d+:memory:" .. path:gsub("%p", "%%%0") .. "\n", out)
      assert.matches("\n0::" .. path:gsub("%p", "%%%0") .. "\n1\n$", out)
      assert.same(before, H.missing_cgroups(path))
      if own ~= "" then
        assert.matches("'cgroup.path' /nsbox%-spec%-outside is not beneath the caller's own cgroup /sys/fs/cgroup/",
          refused(nsbox.recipe, { cgroup = { path = "/nsbox-spec-outside" } }))
      end
    end)

  H.root_it("refuse limits to a caller that may not write its cgroups, before starting anything", function()
    local _, err, code = H.sh(H.NOBODY .. LIMITED .. H.quote('nsbox.cli.main(LIMITS, { "true" })'))
    assert.equal(125, code)
    assert.matches("^nsbox: 'cgroup.limits.memory': the caller %(uid 65534%) may not create cgroups beneath its "
      .. "own cgroup /sys/fs/cgroup/memory", err)
  end)
end)

describe("cgroups on this host #slow", function()
  H.root_it("keep a busy loop near its CPU quota of 0.2 (wide margin)", function()
    local _, _, _, _, usage = nsbox.run(nsbox.recipe { cgroup = { limits = { cpu = 0.2 } } },
      { "timeout", "2", "sh", "-c", "while :; do :; done" })
    local share = usage.cpu_usec / 2e6
    assert.is_true(share > 0.1 and share < 0.35, ("used %.0f%% of a CPU"):format(share * 100))
  end)
end)
