-- Capabilities, identity, limits, no_new_privs, init and die_with_parent,
-- observed from inside the sandbox and from outside.
local nsbox = require "nsbox"
local H = require "helpers"

local STATUS = "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):' /proc/self/status"

local function status_fields(out)
  local fields = {}
  for name, value in out:gmatch("(%w+):%s+(%x+)") do fields[name] = value end
  return fields
end

local function bits(...)
  local mask = 0
  for _, cap in ipairs { ... } do mask = mask | (1 << cap) end
  return ("%016x"):format(mask)
end

local NET_BIND_SERVICE, CHOWN, SYS_ADMIN = 10, 0, 21

local recipe_error = H.recipe_error

describe("caps", function()
  H.root_it("keeps exactly the listed capabilities, as root", function()
    local out = H.capture({ namespaces = { "uts" }, caps = { keep = { "net_bind_service", "CAP_CHOWN" } } },
      { "sh", "-c", STATUS })
    local f = status_fields(out)
    local expected = bits(NET_BIND_SERVICE, CHOWN)
    assert.same({ expected, expected, expected, expected }, { f.CapEff, f.CapPrm, f.CapInh, f.CapBnd })
    assert.equal(bits(), f.CapAmb) -- root needs no ambient set to keep them across exec
  end)

  H.root_it("keeps them across the switch to a non-root uid, raised as ambient", function()
    local out = H.capture({ namespaces = { "uts" }, caps = { keep = { "net_bind_service" } },
      user = { uid = 1000, gid = 1000 } }, { "sh", "-c", "id -u; " .. STATUS })
    local f = status_fields(out)
    local expected = bits(NET_BIND_SERVICE)
    assert.matches("^1000\n", out)
    assert.same({ expected, expected, expected, expected, expected },
      { f.CapEff, f.CapPrm, f.CapInh, f.CapBnd, f.CapAmb })
  end)

  H.root_it("drops everything with an empty keep list", function()
    local out = H.capture({ namespaces = { "uts" }, caps = { keep = {} } }, { "sh", "-c", STATUS .. "; hostname x" })
    local f = status_fields(out)
    assert.same({ bits(), bits(), bits(), bits(), bits() }, { f.CapEff, f.CapPrm, f.CapInh, f.CapBnd, f.CapAmb })
    assert.matches("hostname: you must be root to change the host name", out)
  end)

  H.root_it("are left as they are without a caps key", function()
    local host = status_fields(H.sh(STATUS))
    local f = status_fields(H.capture({ namespaces = { "uts" } }, { "sh", "-c", STATUS }))
    assert.equal(host.CapEff, f.CapEff)
    assert.equal(host.CapBnd, f.CapBnd)
  end)

  H.root_it("apply inside a user namespace for an unprivileged caller", function()
    local script = 'local nsbox = require "nsbox"; os.exit(nsbox.run({ namespaces = { "uts" }, '
      .. 'caps = { keep = { "sys_admin" } } }, { "sh", "-c", ' .. ("%q"):format(STATUS) .. ' }) and 0 or 1)'
    local out, err, code = H.sh(H.NOBODY .. "lua -e " .. H.quote(
      'package.path = "lua/?.lua;lua/?/init.lua;" .. package.path; '
      .. 'package.cpath = "build/?.so;" .. package.cpath;' .. script))
    assert.equal(0, code, err)
    local f = status_fields(out)
    assert.same({ bits(SYS_ADMIN), bits(SYS_ADMIN), bits(SYS_ADMIN) }, { f.CapEff, f.CapPrm, f.CapBnd })
  end)

  it("rejects an unknown capability name before anything runs", function()
    assert.matches("'caps.keep%[1%]': unknown capability 'net_bind_servic' %(did you mean 'cap_net_bind_service'%?%)",
      recipe_error { caps = { keep = { "net_bind_servic" } } })
    assert.matches("'caps.keep' and 'caps.bounding' cannot be used together",
      recipe_error { caps = { keep = {}, bounding = {} } })
  end)
end)

describe("no_new_privs", function()
  H.root_it("is set when asked, and only then", function()
    local f = status_fields(H.capture({ no_new_privs = true }, { "sh", "-c", STATUS }))
    assert.equal("1", f.NoNewPrivs)
    f = status_fields(H.capture({}, { "sh", "-c", STATUS }))
    assert.equal("0", f.NoNewPrivs)
  end)
end)

describe("user", function()
  H.root_it("switches uid, gid and groups before exec", function()
    local out = H.capture({ user = { uid = 1000, gid = 1001, groups = { 20, 30 } } },
      { "sh", "-c", "id -u; id -g; id -G" })
    assert.equal("1000\n1001\n1001 20 30\n", out)
  end)

  H.root_it("drops root's supplementary groups when none are given", function()
    assert.equal("65534\n", H.capture({ user = { uid = 65534, gid = 65534 } }, { "id", "-G" }))
  end)

  it("rejects a uid or gid without a mapping in the user namespace", function()
    assert.matches("'user.uid' 1000 has no mapping in the user namespace's uid_map",
      recipe_error { namespaces = { "user" }, user = { uid = 1000, gid = 0 } })
    assert.matches("'user.gid' 5 has no mapping",
      recipe_error { namespaces = { "user" }, uid_map = { { 0, 100000, 10 } }, gid_map = { { 0, 100000, 2 } },
        user = { uid = 1, gid = 5 } })
    assert.matches("'user.gid' must be an integer", recipe_error { user = { uid = 1 } })
  end)
end)

describe("rlimits", function()
  H.root_it("are applied in the child", function()
    local out = H.capture({ rlimits = { nofile = 1024, core = 0, nproc = { 100, 200 } } },
      { "sh", "-c", "ulimit -n; ulimit -c; ulimit -Sp; ulimit -Hp" }) -- dash: -p is nproc
    assert.equal("1024\n0\n100\n200\n", out)
  end)

  it("rejects an unknown resource and a soft limit above the hard one", function()
    assert.matches("rlimits: unknown resource 'nofiles' %(did you mean 'nofile'%?%)",
      recipe_error { rlimits = { nofiles = 1 } })
    assert.matches("'rlimits.nofile': the soft limit 2048 is above the hard limit 1024",
      recipe_error { rlimits = { nofile = { 2048, 1024 } } })
    assert.matches("'rlimits.nofile.soft' must be a non%-negative integer or \"unlimited\"",
      recipe_error { rlimits = { nofile = { -1, 5 } } })
  end)
end)

describe("init", function()
  local PID = { namespaces = { "pid", "mount" }, mounts = { { type = "proc", target = "/proc" } }, init = false }
  -- PID 1 here is lua, whose os.execute waits only for its own child: the
  -- orphaned sleep is left to whoever is init
  local ORPHAN = { "lua", "-e", 'os.execute("sh -c \'sleep 0.1 &\'"); os.execute("sleep 0.5"); '
    .. 'local p = io.popen("echo $PPID"); print(p:read("l")); p:close(); os.execute("ps -e -o stat=,comm=")' }

  H.root_it("reaps orphaned zombies that a plain PID 1 leaves behind", function()
    local without = H.capture(PID, ORPHAN)
    assert.matches("^1\n", without)
    assert.matches("Z +sleep", without)
    local with = H.capture(nsbox.recipe(PID, { init = true }), ORPHAN)
    assert.matches("^2\n", with) -- the command is init's child
    assert.matches("\nSs +nsbox%-init\n", with) -- the leader of the sandbox's own session
    assert.not_matches("Z", with)
  end)

  H.root_it("exits with the command's status, or its signal", function()
    local r = nsbox.recipe(PID, { init = true })
    assert.same({ nil, "exit", 7 }, { nsbox.run(r, { "sh", "-c", "exit 7" }) })
    assert.same({ nil, "signal", 9 }, { nsbox.run(r, { "sh", "-c", "kill -KILL $$" }) })
  end)

  H.root_it_passes_sigterm_on("passes a SIGTERM sent to the nsbox process on to the command",
    '{ namespaces = { "pid" }, init = true }', "32.5")

  it("needs the pid namespace", function()
    assert.matches("'init' needs the 'pid' namespace", recipe_error { init = true })
  end)
end)

describe("die_with_parent", function()
  -- The killed parent's orphans must not outlive the spec, and this host's
  -- PID 1 never reaps: the scene plays in a PID namespace of its own, whose
  -- init (sh) reaps everything as it ends.
  local SCENE = [[
    lua -e '%s' & sleep 0.5
    pid=$(pgrep -f "^sleep 30$")
    kill -KILL $!; wait $! 2>/dev/null; sleep 0.2
    test -e /proc/$pid && echo alive || echo dead
  ]]
  local SCRIPT = 'package.path = "lua/?.lua;lua/?/init.lua;" .. package.path; '
    .. 'package.cpath = "build/?.so;" .. package.cpath; '
    .. 'local nsbox = require "nsbox"; '
    .. 'nsbox.spawn({ namespaces = { "uts" }, die_with_parent = %s }, { "sleep", "30" }); '
    .. 'os.execute("exec sleep 31")'

  H.root_it("kills the sandbox when the process that spawned it dies", function()
    for _, on in ipairs { true, false } do
      local scene = SCENE:format(SCRIPT:format(on))
      local out, err = H.sh("unshare --pid --fork --mount-proc sh -c " .. H.quote(scene))
      assert.equal(on and "dead\n" or "alive\n", out, err)
    end
  end)
end)

describe("recipes/locked.lua", function()
  H.root_it("runs with no capabilities, no_new_privs, limits and init, also unprivileged", function()
    for _, opts in ipairs { {}, { nobody = true } } do
      local out, err, code = H.recipe("locked", { "sh", "-c", "echo $$; id -u; ulimit -n; " .. STATUS }, opts)
      assert.equal(0, code, err)
      local f = status_fields(out)
      assert.matches("^2\n0\n1024\n", out)
      assert.same({ bits(), bits(), bits(), "1" }, { f.CapEff, f.CapPrm, f.CapBnd, f.NoNewPrivs })
    end
  end)
end)
