-- Hostile and careless input: every refusal comes before any fork, names the
-- user's key or argument, and takes bounded time and memory.
local cjson = require "cjson"
local nsbox = require "nsbox"
local oci = require "nsbox.oci"
local H = require "helpers"

local refusal, recipe_error = H.refusal, H.recipe_error

-- An __index that never returns nil: ipairs, # by hand, t[k] never end.
local function endless(list)
  return setmetatable(list, { __index = function() return "x" end, __len = function() return math.maxinteger end,
    __pairs = function() return function() return "k", "v" end end })
end

describe("validation is linear", function()
  it("refuses a 1 MiB capability name without measuring it against every name", function()
    local err = recipe_error { caps = { keep = { ("x"):rep(1 << 20) } } }
    assert.matches("^nsbox.recipe: 'caps.keep%[1%]': unknown capability 'x+%.%.%.'$", err)
  end)

  it("refuses a 65 KB config.json with a long capability name, naming it", function()
    local config = cjson.decode(H.slurp("spec/fixtures/oci/crun/config.json"))
    config.process.terminal = false
    config.process.capabilities.bounding[1] = "CAP_" .. ("X"):rep(65000)
    local err = refusal(nsbox.recipe, oci.translate(config, "/bundles/box"))
    assert.matches("'caps.bounding%[1%]': unknown capability", err)
  end)

  it("still suggests the close name", function()
    assert.matches("did you mean 'cap_net_admin'", recipe_error { caps = { keep = { "net_admn" } } })
  end)
end)

describe("recipe data is read raw", function()
  it("runs an argv whose metatable's __index never returns nil", function()
    local argv = endless { "sh", "-c", "exit 3" }
    assert.same({ nil, "exit", 3 }, { nsbox.run({}, argv) })
  end)

  it("accepts mount options, namespaces and env with lying metatables as their plain contents", function()
    local r = nsbox.recipe { namespaces = endless { "mount" }, env = endless { A = "1" },
      mounts = endless { { type = "tmpfs", target = "/tmp", options = endless { "noexec" } } } }
    assert.equal("mount", r.namespaces[#r.namespaces])
    assert.same({ A = "1" }, r.env)
    assert.same({ "noexec" }, r.mounts[1].options)
  end)

  it("ignores an __index on the spawn options", function()
    local options = setmetatable({}, { __index = function() error("read through __index") end })
    assert.same({ true, "exit", 0 }, { nsbox.run({}, { "true" }, options) })
  end)

  it("refuses a cycle, naming where it closes", function()
    local fragment = { namespaces = { "mount" } }
    fragment.mounts = { { type = "tmpfs", target = "/tmp", options = {} } }
    fragment.mounts[1].options[1] = fragment.mounts
    assert.matches("'mounts%[1%]%.options%[1%]' contains itself", recipe_error(fragment))
  end)

  it("refuses nesting deeper than any recipe needs", function()
    local deep = {}
    for _ = 1, 40 do deep = { deep } end
    assert.matches("^nsbox.recipe: 'env%[1%]%[1%]%[1%].-' nests tables more than 16 deep$",
      recipe_error { env = deep })
  end)

  it("refuses a recipe whose shared tables unfold into more than a million values", function()
    local t = {}
    for _ = 1, 6 do
      local wider = {}
      for i = 1, 20 do wider[i] = t end
      t = wider
    end
    assert.matches("^nsbox.recipe: 'mounts[%[%]%d]+': more than 1000000 values in all$", recipe_error { mounts = t })
  end)
end)

describe("integers handed to C are range-checked before the fork", function()
  it("refuses a pid past PID_MAX_LIMIT rather than joining it cut to 32 bits", function()
    local err = recipe_error { join = { uts = (1 << 32) + 1 } }
    assert.matches("'join.uts' must be a pid from 1 to 4194304, got 4294967297", err)
    assert.matches("'join' must be a pid from 1 to 4194304, got 2147483648", recipe_error { join = 2 ^ 31 })
    assert.matches("'join' must be a pid from 1 to 4194304, got 0", recipe_error { join = 0 })
  end)

  it("refuses id map ranges that reach past the last id, without the overlap sum wrapping", function()
    local err = recipe_error { namespaces = { "user" }, uid_map = { { 0, 1000, math.maxinteger } } }
    assert.matches("'uid_map%[1%]%.count' must be an integer from 1 to 4294967295", err)
    err = recipe_error { namespaces = { "user" }, gid_map = { { 0, 0, 1 }, { 4294967000, 100000, 1000 } } }
    assert.matches("'gid_map%[2%]': inside ids 4294967000 to 4294967999 go past 4294967294", err)
    err = recipe_error { namespaces = { "user" }, uid_map = { { 1, 1, 4294967295 } } }
    assert.matches("'uid_map%[1%]': inside ids", err)
  end)

  it("refuses time offsets the kernel refuses, naming the clock", function()
    assert.matches("^nsbox.recipe: 'time.monotonic' must be a number of seconds from %-4611686018 to 4611686018, "
      .. "got 1e%+300$", recipe_error { time = { monotonic = 1e300 } })
    assert.matches("'time.boottime' must be a number of seconds", recipe_error { time = { boottime = -1e18 } })
    assert.matches("'time.boottime' must be a number of seconds", recipe_error { time = { boottime = 0 / 0 } })
  end)

  it("refuses more mounts of the sandbox's own than the child can track (found by the fuzzer)", function()
    local list = { { type = "tmpfs", target = "/t" } }
    for i = 1, 64 do list[#list + 1] = { type = "dev", target = "/t/d" .. i } end
    assert.matches("'mounts': at most 128 tmpfs and dev mounts %(a dev counts twice, the rootfs once%), got 129",
      recipe_error { namespaces = { "mount" }, mounts = list })
  end)

  it("refuses out-of-range rlimits, modes, tmpfs ids, user ids and group counts", function()
    assert.matches("'rlimits.nofile' must be a non%-negative integer", recipe_error { rlimits = { nofile = -1 } })
    assert.matches("'umask' must be an octal string", recipe_error { umask = 8 ^ 5 })
    assert.matches("'mounts%[1%]%.uid' must be an integer from 0 to 4294967294", recipe_error {
      namespaces = { "mount" }, mounts = { { type = "tmpfs", target = "/tmp", uid = 1 << 32 } } })
    assert.matches("'user.gid' must be an integer from 0 to 4294967294", recipe_error { user = { uid = 0, gid = -1 } })
    local groups = {}
    for i = 1, 65537 do groups[i] = 0 end
    assert.matches("'user.groups' has 65537 groups, the kernel takes at most 65536",
      recipe_error { user = { uid = 0, gid = 0, groups = groups } })
  end)
end)

describe("NUL bytes are refused, naming the key", function()
  local cases = {
    { "hostname", { namespaces = { "uts" }, hostname = "a\0b" } },
    { "env.A", { env = { A = "a\0b" } } },
    { 'env["A\\0"]', { env = { ["A\0"] = "b" } } },
    { "cwd", { cwd = "/tmp\0/x" } },
    { "argv[2]", { argv = { "true", "a\0b" } } },
    { "mounts[1].source", { namespaces = { "mount" },
      mounts = { { type = "bind", source = "/tmp\0x", target = "/mnt" } } } },
    { "mounts[1].target", { namespaces = { "mount" }, mounts = { { type = "tmpfs", target = "/tmp\0x" } } } },
    { "mounts[1].options[1]", { namespaces = { "mount" },
      mounts = { { type = "tmpfs", target = "/tmp", options = { "size=1m\0" } } } } },
    { "mounts[1].fstype",
      { namespaces = { "mount" }, mounts = { { type = "mount", fstype = "tmpfs\0", target = "/tmp" } } } },
    { "mounts[2].source", { namespaces = { "mount" },
      mounts = { { type = "tmpfs", target = "/tmp" }, { type = "symlink", source = "a\0b", target = "/tmp/l" } } } },
    { "mounts[2].content", { namespaces = { "mount" },
      mounts = { { type = "tmpfs", target = "/tmp" }, { type = "file", content = "a\0b", target = "/tmp/f" } } } },
    { "sysctl.net.ipv4.ip_forward", { namespaces = { "net", "mount" },
      mounts = { { type = "proc", target = "/proc" } }, sysctl = { ["net.ipv4.ip_forward"] = "1\0" } } },
    { "rootfs", { namespaces = { "mount" }, rootfs = "/srv\0/root" } },
    { "masked[1]", { namespaces = { "mount" }, masked = { "/proc/kcore\0" } } },
    { "readonly[1]", { namespaces = { "mount" }, readonly = { "/proc/sys\0" } } },
    { "join.net", { join = { net = "/proc/1/ns/net\0" } } },
  }
  for _, case in ipairs(cases) do
    it("in " .. case[1], function()
      local err = recipe_error(case[2])
      assert.truthy(err:find("'" .. case[1] .. "'", 1, true), err)
      assert.truthy(err:find("NUL", 1, true), err)
    end)
  end

  it("in the argv given to nsbox.run", function()
    assert.has_error(function() nsbox.run({}, { "echo", "a\0b" }) end, "nsbox: 'argv[2]' must not contain a NUL byte")
  end)
end)

describe("messages name the user's key or argument", function()
  it("says which argument of spawn or run is not a table", function()
    assert.has_error(function() nsbox.spawn({}, { "true" }, 5) end,
      "nsbox: 'options' (argument #3 of nsbox.spawn) must be a table, got number")
    assert.has_error(function() nsbox.run(7, { "true" }) end,
      "nsbox: 'recipe' (argument #1 of nsbox.run) must be a recipe or a table, got number")
    assert.has_error(function() nsbox.run({}, { "true" }, { forground = true }) end,
      "nsbox: options: unknown key 'forground' (did you mean 'foreground'?)")
  end)

  it("raises a refusal at the caller's line, never at one inside nsbox", function()
    local err = refusal(function() nsbox.run({ hostname = 1 }, { "true" }) end)
    assert.matches("^spec/robustness_spec.lua:%d+: nsbox: 'hostname' must be a string, got number$", err)
    err = refusal(function() nsbox.compile({ hostname = 1 }) end)
    assert.matches("^spec/robustness_spec.lua:%d+: nsbox: 'hostname'", err)
  end)

  it("prints CLI refusals without a Lua position", function()
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write('package.path = "lua/?.lua;lua/?/init.lua;" .. package.path; '
      .. 'package.cpath = "build/?.so;" .. package.cpath\n',
      'local nsbox = require "nsbox"\n',
      'if arg[1] == "table" then nsbox.cli.main({ hostname = 1 }, {}) end\n',
      'nsbox.cli.main(function() return nsbox.recipe { namespaces = { "uts" }, hostname = 1 } end, {})\n')
    f:close()
    local _, err, code = H.sh("lua " .. script .. " table")
    assert.same({ "nsbox: 'hostname' must be a string, got number\n", 125 }, { err, code })
    _, err, code = H.sh("lua " .. script)
    os.remove(script)
    assert.same({ "nsbox: nsbox.recipe: 'hostname' must be a string, got number\n", 125 }, { err, code })
  end)
end)

describe("what the fuzzer found", function()
  it("names the fragment of a non-string top-level key", function()
    assert.equal("nsbox.recipe: fragment #2: keys must be strings, got 1",
      refusal(nsbox.recipe, { namespaces = { "uts" } }, { "uts" }))
  end)

  it("shows a long key cut short in a key path", function()
    local err = recipe_error { env = { [("A"):rep(5000)] = 1 } }
    assert.equal("nsbox.recipe: 'env." .. ("A"):rep(80) .. "...' must be a string, or false to unset it; got number",
      err)
  end)

  it("shows an OCI field with a NUL byte escaped", function()
    assert.equal([[nsbox.oci: unsupported field '["host\0name"]']], refusal(oci.translate, { ["host\0name"] = "x" }))
  end)

  it("runs no metamethod of an OCI config", function()
    local config = setmetatable({ hostname = "box", linux = { namespaces = { { type = "uts" } } } },
      { __index = function() error("metamethod ran") end, __pairs = function() error("metamethod ran") end })
    assert.same({ namespaces = { "uts" }, hostname = "box" }, oci.translate(config))
  end)
end)

describe("lists", function()
  it("refuse a hole, which ipairs would stop at while C reads on to #", function()
    local argv = { "true", "a", "b" }
    argv[2] = nil
    -- Which border # finds in the raw copy varies: either is a refusal naming the key.
    local hole = "must be a list, got [ak][e ]"
    assert.matches("^nsbox: 'argv' " .. hole, refusal(nsbox.run, {}, argv))
    local mounts = { { type = "tmpfs", target = "/tmp" }, { type = "dir", target = "/tmp/d" }, {} }
    mounts[2] = nil
    assert.matches("'mounts' " .. hole, recipe_error { namespaces = { "mount" }, mounts = mounts })
  end)
end)

describe("a sandbox that dies while it should wait for its caller", function()
  local B = require "support.busybox"
  local rootfs
  setup(function()
    if H.root then rootfs = B.rootfs() end
  end)
  teardown(function()
    if rootfs then B.remove(rootfs) end
  end)

  -- The spawn in a Lua of its own, which prints what it returned, then "alive": a SIGPIPE would end it silently.
  local function spawn_killed_at_pause(options_source)
    local script = 'package.path = "lua/?.lua;lua/?/init.lua;" .. package.path; '
      .. 'package.cpath = "build/?.so;" .. package.cpath; local nsbox = require "nsbox"; '
      .. ('local r = nsbox.recipe { namespaces = { "mount", "pid" }, rootfs = %q, pause_before_root = true }; '):format(
        rootfs)
      .. ('print(nsbox.spawn(r, { "/bin/true" }, %s)); print("alive")'):format(options_source)
    return H.sh("lua -e " .. H.quote(script))
  end

  H.root_it("fails the spawn with how it ended, and its caller lives on (no SIGPIPE), when killed while paused",
    function()
      -- Killed and gone (a zombie) before the caller lets it go on.
      local out, err, code = spawn_killed_at_pause([[{ paused = function(pid)
        nsbox.core.kill(pid, 9)
        repeat local stat = io.open("/proc/" .. pid .. "/stat"):read("a") until stat:match("^%d+ %b() (%a)") == "Z"
        return true
      end }]])
      assert.same({ "nil\tthe sandbox's process was killed by signal 9 while paused\t3\tsync\nalive\n", "", 0 },
        { out, err, code })
    end)

  H.root_it("fails a parked spawn when it dies before it is parked, rather than taking end-of-file for exec",
    function()
      local dir = H.trim((H.sh("mktemp -d /tmp/nsbox-park.XXXXXX")))
      -- Killed, and let go at once: the caller's go-ahead may still reach it, or find it gone.
      local out, err, code = spawn_killed_at_pause(([[{ park = nsbox.core.park_socket(%q),
        paused = function(pid) nsbox.core.kill(pid, 9) return true end }]]):format(dir .. "/exec.sock"))
      H.sh("rm -rf " .. H.quote(dir))
      assert.matches("^nil\tthe sandbox's process was killed by signal 9 [%a ]+\t3\t%a+\nalive\n$", out)
      assert.same({ "", 0 }, { err, code })
    end)
end)
