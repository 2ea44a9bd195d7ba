-- The OCI runtime driven as an engine drives it (conmon: create with a pid
-- file and the container's stdio as the runtime's own, start, state, kill,
-- delete, exec), on a busybox bundle with `crun spec`'s config, side by side
-- with crun where it is installed.
local cjson = require "cjson"
local H = require "helpers"
local B = require "support.busybox"

-- A hook's shell words printing the container's pid from the state JSON on its stdin.
local STATE_PID = [[sed -n "s/.*\"pid\": \([0-9]*\).*/\1/p"]]

local function bundle(args)
  local dir = B.rootfs { "bin", "proc", "dev", "sys" }
  assert(os.execute(("mkdir %s/rootfs && mv %s/bin %s/proc %s/dev %s/sys %s/rootfs/"):format(
    dir, dir, dir, dir, dir, dir)))
  local c = cjson.decode(H.slurp("spec/fixtures/oci/crun/config.json"))
  c.process.terminal = false
  c.process.args = args
  c.annotations = { ["org.example.note"] = "kept" }
  H.write(dir .. "/config.json", cjson.encode(c))
  return dir
end

-- A runtime call as conmon makes it: stdio the caller's files (the
-- container inherits them), extra descriptors at 3 and 4 like conmon's pipes.
local function runtime_line(program, root, words, out)
  local quoted = {}
  for i, w in ipairs(words) do quoted[i] = H.quote(w) end
  return (("%s --root %s %s </dev/null >>%s 2>%s.err 3>%s.fd3 4>%s.fd4; echo $? >%s.rc"):format(
    program, H.quote(root), table.concat(quoted, " "), out, out, out, out, out) .. "; cat " .. out .. ".rc")
end

local function nsbox_call(root, out)
  return function(...)
    local code = tonumber(H.trim((H.sh(runtime_line("bin/nsbox", root, { ... }, out)))))
    return code, H.slurp(out .. ".err")
  end
end

-- crun on this hybrid cgroup host: without the v2 hierarchy in sight, which it would take for the host's kind.
local function crun_call(root, out)
  return function(...)
    local words = { ... }
    local line = "crun --cgroup-manager=disabled"
    local code = tonumber(H.trim((H.sh(("unshare --mount sh -c %s"):format(H.quote(
      "mount --make-rprivate / && umount /sys/fs/cgroup/unified 2>/dev/null; "
      .. runtime_line(line, root, words, out)))))))
    return code, H.slurp(out .. ".err")
  end
end

-- Whether pid has ended: gone, or a zombie its new parent has not reaped yet.
local function gone(pid)
  local stat = H.slurp("/proc/" .. pid .. "/stat")
  return stat == nil or stat:match("^%d+ %b() ([ZX])") ~= nil
end

-- Whether ready() became true within 10 seconds, asking every 0.1 s.
local function within_10s(ready)
  for _ = 1, 100 do
    if ready() then return true end
    H.sh("sleep 0.1")
  end
  return false
end

local function wait_gone(pid)
  return within_10s(function() return gone(pid) end)
end

-- The bundle's output once its program has said "started": its echo comes after start returns.
local function output_once_started(out)
  within_10s(function() return (H.slurp(out) or ""):find("started") ~= nil end)
  return H.slurp(out)
end

describe("nsbox as an OCI runtime", function()
  local dir, root, out, nsbox
  local ID = "nsbox-spec-runtime"
  before_each(function()
    if not H.root then return end
    dir = bundle { "sh", "-c", "echo started; exec sleep 60" }
    root, out = dir .. "/state", dir .. "/out"
    nsbox = nsbox_call(root, out)
  end)
  after_each(function()
    if not dir then return end
    H.sh(("bin/nsbox --root %s delete --force %s"):format(root, ID))
    B.remove(dir)
  end)

  local function state(id)
    local text, _, code = H.sh(("bin/nsbox --root %s state %s"):format(root, id or ID))
    if code ~= 0 then return nil end
    local s = cjson.decode(text)
    s.pid = math.tointeger(s.pid)
    return s
  end

  H.root_it("parks the process at create, runs it at start, reports, kills and deletes it", function()
    assert.same({ 0, "" }, { nsbox("create", "--bundle", dir, "--pid-file", dir .. "/pid", ID) })
    local s = state()
    assert.same({ "1.0.0", ID, "created", dir, { ["org.example.note"] = "kept" } },
      { s.ociVersion, s.id, s.status, s.bundle, s.annotations })
    assert.equal(H.slurp(dir .. "/pid"), tostring(s.pid))
    -- create has exited: the parked process is nobody's child of ours, and runs nothing yet.
    assert.equal(0, select(3, H.sh("kill -0 " .. s.pid)))
    assert.equal("", H.slurp(out))
    assert.same({ 0, "" }, { nsbox("start", ID) })
    assert.equal("started\n", output_once_started(out))
    assert.equal("running", state().status)
    assert.equal("sleep 60", H.trim(H.slurp("/proc/" .. s.pid .. "/cmdline"):gsub("%z", " ")))
    assert.same({ 1, "nsbox: cannot start an already running container\n" }, { nsbox("start", ID) })
    assert.same({ 0, "" }, { nsbox("kill", ID, "KILL") })
    assert.is_true(wait_gone(s.pid))
    assert.same({ "stopped", 0 }, { state().status, state().pid })
    assert.same({ 1, "nsbox: container not running\n" }, { nsbox("kill", ID, "9") })
    assert.same({ 0, "" }, { nsbox("delete", ID) })
    assert.is_nil(state())
    assert.same({ 1, "nsbox: container does not exist\n" }, { nsbox("delete", ID) })
    assert.same({ 0, "" }, { nsbox("delete", "--force", ID) })
    assert.equal("", H.sh("ls " .. root))
  end)

  H.root_it("keeps the engine's descriptors 3 and 4 out of the container, parked and started", function()
    nsbox("create", "--bundle", dir, ID)
    local pid = state().pid
    local fds = H.sh("ls /proc/" .. pid .. "/fd")
    assert.matches("^0\n1\n2\n%d+\n$", fds) -- and the socket it waits on
    assert.matches("socket:", H.sh("readlink /proc/" .. pid .. "/fd/" .. fds:match("(%d+)\n$")))
    nsbox("start", ID)
    assert.equal("0\n1\n2\n", H.sh("ls /proc/" .. pid .. "/fd"))
  end)

  H.root_it("deletes a created container, and a running one only when forced", function()
    nsbox("create", "--bundle", dir, ID)
    local pid = state().pid
    assert.same({ 0, "" }, { nsbox("delete", ID) })
    assert.is_true(gone(pid))
    nsbox("create", "--bundle", dir, ID)
    nsbox("start", ID)
    assert.same({ 1, "nsbox: cannot delete container " .. ID .. " that is not stopped: running\n" },
      { nsbox("delete", ID) })
    assert.same({ 0, "" }, { nsbox("delete", "--force", ID) })
    assert.is_nil(state())
  end)

  -- The container's cgroup of a hierarchy, as the host sees it (from /proc/PID/cgroup).
  local function cgroup_dir(pid, hierarchy)
    local path = H.slurp("/proc/" .. pid .. "/cgroup"):match("%d+:" .. hierarchy .. ":(%S+)")
    return path and "/sys/fs/cgroup/" .. (hierarchy == "" and "unified" or hierarchy) .. path
  end

  H.root_it("gives the container cgroups: ps lists them, exec joins them, delete removes them", function()
    nsbox("create", "--bundle", dir, ID)
    local pid = state().pid
    local pids_dir = cgroup_dir(pid, "pids")
    assert.equal("/sys/fs/cgroup/pids/nsbox-" .. ID, pids_dir)
    assert.equal("[" .. pid .. "]\n", (H.sh(("bin/nsbox --root %s ps --format json %s"):format(root, ID))))
    nsbox("start", ID)
    local joined = H.sh(("bin/nsbox --root %s exec %s cat /proc/self/cgroup"):format(root, ID))
    assert.equal(H.slurp("/proc/" .. pid .. "/cgroup"):match("\n%d+:pids:%S+"), joined:match("\n%d+:pids:%S+"))
    assert.same({ 0, "" }, { nsbox("delete", "--force", ID) })
    assert.is_nil(H.slurp(pids_dir .. "/cgroup.procs"))
  end)

  H.root_it("makes no cgroups with --cgroup-manager=disabled, as crun: the container runs, pause refuses", function()
    local config = cjson.decode(H.slurp(dir .. "/config.json"))
    config.linux.resources = { pids = { limit = 9 } }
    H.write(dir .. "/config.json", cjson.encode(config))
    assert.same({ 1, "nsbox: nsbox.oci: unsupported field 'linux.resources' (its caller makes no cgroups)\n" },
      { nsbox("--cgroup-manager", "disabled", "create", "--bundle", dir, ID) })
    assert.equal("", H.sh("ls " .. root))
    config.linux.resources = nil
    H.write(dir .. "/config.json", cjson.encode(config))
    assert.same({ 0, "" }, { nsbox("--cgroup-manager", "disabled", "create", "--bundle", dir, ID) })
    local pid = state().pid
    assert.equal(H.slurp("/proc/self/cgroup"):match("\n%d+:pids:%S+"),
      H.slurp("/proc/" .. pid .. "/cgroup"):match("\n%d+:pids:%S+"))
    assert.same({ 0, "" }, { nsbox("start", ID) })
    assert.same({ 1, "nsbox: container " .. ID .. " has no cgroups (its caller could make none, or it was made with "
      .. "--cgroup-manager=disabled)\n" }, { nsbox("pause", ID) })
    assert.same({ 0, "" }, { nsbox("delete", "--force", ID) })
    assert.is_true(gone(pid))
  end)

  H.root_it("pauses and resumes the container with the freezer, and updates its limits", function()
    nsbox("create", "--bundle", dir, ID)
    nsbox("start", ID)
    local pid = state().pid
    assert.same({ 0, "" }, { nsbox("pause", ID) })
    assert.equal("paused", state().status)
    assert.same({ 1, "nsbox: container not running\n" }, { nsbox("pause", ID) })
    assert.same({ 0, "" }, { nsbox("resume", ID) })
    assert.equal("running", state().status)
    assert.same({ 1, "nsbox: container not paused\n" }, { nsbox("resume", ID) })
    H.write(dir .. "/resources.json", '{"pids": {"limit": 9}}')
    assert.same({ 0, "" }, { nsbox("update", "--resources", dir .. "/resources.json", "--memory", "96m", ID) })
    assert.equal("9\n", H.slurp(cgroup_dir(pid, "pids") .. "/pids.max"))
    assert.equal(tostring(96 << 20) .. "\n", H.slurp(cgroup_dir(pid, "memory") .. "/memory.limit_in_bytes"))
    local code, err = nsbox("update", "--memory", "lots", ID)
    assert.equal(1, code)
    assert.matches("'%-%-memory' must be a size", err)
    -- Frozen, then killed and deleted: nothing is left.
    nsbox("pause", ID)
    local pids_dir = cgroup_dir(pid, "pids")
    assert.same({ 0, "" }, { nsbox("delete", "--force", ID) })
    assert.is_true(gone(pid))
    assert.is_nil(H.slurp(pids_dir .. "/cgroup.procs"))
  end)

  H.root_it("kills and deletes with an empty environment, signals by name or number", function()
    nsbox("create", "--bundle", dir, ID)
    nsbox("start", ID)
    local _, err, code = H.sh(("env -i bin/nsbox --root %s kill %s SIGTERM"):format(root, ID))
    assert.same({ "", 0 }, { err, code })
    _, err, code = H.sh(("env -i bin/nsbox --root %s delete --force %s"):format(root, ID))
    assert.same({ "", 0 }, { err, code })
    assert.same({ 1, 'nsbox: unknown signal "SIGNOPE"\n' }, { nsbox("kill", ID, "SIGNOPE") })
  end)

  H.root_it("refuses a second container with the same id, also when they race", function()
    local _, _, code = H.sh(("for i in 1 2 3 4; do bin/nsbox --root %s create --bundle %s %s "
      .. ">/dev/null 2>>%s.race </dev/null & done; wait"):format(root, dir, ID, out))
    assert.equal(0, code)
    local refusals = select(2, H.slurp(out .. ".race"):gsub("container with id exists: " .. ID:gsub("%-", "%%-"), ""))
    assert.equal(3, refusals)
    assert.equal("created", state().status)
  end)

  H.root_it("execs in every namespace of the container, with its exit status", function()
    nsbox("create", "--bundle", dir, ID)
    nsbox("start", ID)
    local text, err, code = H.sh(("bin/nsbox --root %s exec %s sh -c 'hostname; cat /proc/1/cmdline; exit 4'")
      :format(root, ID))
    assert.same({ "crun\nsleep60", "", 4 }, { H.trim(text:gsub("%z", "")), err, code })
    assert.same({ 0, "" }, { nsbox("exec", "--detach", "--pid-file", dir .. "/exec.pid", ID, "sleep", "61") })
    local pid = H.slurp(dir .. "/exec.pid")
    assert.equal(0, select(3, H.sh("kill -0 " .. pid)))
    H.sh("kill -9 " .. pid)
  end)

  H.root_it("execs a --process JSON: its args, env, cwd and user", function()
    nsbox("create", "--bundle", dir, ID)
    nsbox("start", ID)
    H.write(dir .. "/process.json", cjson.encode { args = { "sh", "-c", "echo $GREETING; pwd; id -u" },
      env = { "GREETING=hi" }, cwd = "/proc", user = { uid = 7, gid = 7 } })
    local text, err, code = H.sh(("bin/nsbox --root %s exec --process %s/process.json %s"):format(root, dir, ID))
    assert.same({ "hi\n/proc\n7\n", "", 0 }, { text, err, code })
  end)

  H.root_it("runs a bundle in the foreground with the command's status, and leaves no state", function()
    H.write(dir .. "/config.json", (H.slurp(dir .. "/config.json"):gsub("exec sleep 60", "exit 3")))
    local text, err, code = H.sh(("bin/nsbox --root %s run --bundle %s %s </dev/null"):format(root, dir, ID))
    assert.same({ "started\n", "", 3 }, { text, err, code })
    assert.is_nil(state())
  end)

  H.root_it("runs the hooks at their points with the state on stdin, and fails create when one fails", function()
    local log = dir .. "/hooks.log"
    local function on_host(name)
      return { path = "/bin/sh", args = { "sh", "-c", ('echo %s $(grep -o \'"status": "[a-z]*"\') >>%s'):format(name,
        log) } }
    end
    local config = cjson.decode(H.slurp(dir .. "/config.json"))
    config.hooks = { prestart = { on_host("prestart") }, createRuntime = { on_host("createRuntime") },
      createContainer = { { path = "/bin/sh", args = { "sh", "-c", "echo createContainer in $(hostname)" } } },
      startContainer = { { path = "/bin/sh", args = { "sh", "-c", "echo startContainer in $(hostname)" } } },
      poststart = { on_host("poststart") }, poststop = { on_host("poststop") } }
    H.write(dir .. "/config.json", cjson.encode(config))
    assert.same({ 0, "" }, { nsbox("create", "--bundle", dir, ID) })
    assert.same({ 0, "" }, { nsbox("start", ID) })
    output_once_started(out)
    assert.same({ 0, "" }, { nsbox("delete", "--force", ID) })
    assert.equal('prestart "status": "created"\ncreateRuntime "status": "creating"\n'
      .. 'poststart "status": "running"\npoststop "status": "stopped"\n', H.slurp(log))
    assert.equal("createContainer in crun\nstartContainer in crun\nstarted\n", H.slurp(out))
    config.hooks = { createRuntime = { { path = "/bin/false" } } }
    H.write(dir .. "/config.json", cjson.encode(config))
    assert.same({ 1, "nsbox: createRuntime hook #0 (/bin/false): exited with status 1\n" },
      { nsbox("create", "--bundle", dir, ID) })
    assert.equal("", H.sh("ls " .. root))
  end)

  -- The points runtime-spec's config.md names: createRuntime in the runtime's namespaces and createContainer in
  -- the container's, both before pivot_root with the mounts made; startContainer in the container's root.
  H.root_it("runs createRuntime and createContainer before pivot_root, startContainer in the container's root",
    function()
      local rootfs, mnt = dir .. "/rootfs", H.trim((H.sh("readlink /proc/self/ns/mnt")))
      local create_runtime = ('pid=$(' .. STATE_PID .. '); '
        .. '[ -e /proc/$pid/root%s/proc/1/stat ] && echo "createRuntime: mounts made, not pivoted"; '
        .. '[ "$(readlink /proc/self/ns/mnt)" = "%s" ] && echo "createRuntime: in our mount namespace"'):format(
        rootfs, mnt)
      -- /bin/bash is only ours: the path resolves in the runtime's namespace, the container's rootfs not yet /.
      local create_container = ('[ -e %s/proc/1/stat ] && [ "$(readlink /proc/self/ns/mnt)" != "%s" ] '
        .. '&& echo "createContainer: in $(hostname), mounts made, not pivoted"'):format(rootfs, mnt)
      H.write(rootfs .. "/hook.sh", '#!/bin/sh\necho "startContainer: in $(hostname), / holding" $(ls /)\n')
      H.sh("chmod 755 " .. rootfs .. "/hook.sh")
      local config = cjson.decode(H.slurp(dir .. "/config.json"))
      config.hooks = { createRuntime = { { path = "/bin/sh", args = { "sh", "-c", create_runtime } } },
        createContainer = { { path = "/bin/bash", args = { "bash", "-c", create_container } } },
        startContainer = { { path = "/hook.sh" } } }
      H.write(dir .. "/config.json", cjson.encode(config))
      assert.same({ 0, "" }, { nsbox("create", "--bundle", dir, ID) })
      assert.same({ 0, "" }, { nsbox("start", ID) })
      assert.equal("createRuntime: mounts made, not pivoted\ncreateRuntime: in our mount namespace\n"
        .. "createContainer: in crun, mounts made, not pivoted\n"
        .. "startContainer: in crun, / holding bin dev hook.sh proc sys\nstarted\n", output_once_started(out))
    end)

  H.root_it("kills the container paused before pivot_root when createContainer fails, leaving nothing", function()
    local config = cjson.decode(H.slurp(dir .. "/config.json"))
    config.hooks = { createContainer = { { path = "/bin/sh", args = { "sh", "-c",
      (STATE_PID .. ' >%s/container.pid; exit 7'):format(dir) } } } }
    H.write(dir .. "/config.json", cjson.encode(config))
    assert.same({ 1, "nsbox: createContainer hook #0 (/bin/sh): exited with status 7\n" },
      { nsbox("create", "--bundle", dir, ID) })
    assert.equal("", H.sh("ls " .. root))
    assert.is_true(gone(H.trim(H.slurp(dir .. "/container.pid"))))
  end)

  H.root_it("fails create with a message when a hook kills the paused container, leaving nothing", function()
    local config = cjson.decode(H.slurp(dir .. "/config.json"))
    config.hooks = { createRuntime = { { path = "/bin/sh", args = { "sh", "-c",
      'pid=$(' .. STATE_PID .. '); kill -9 $pid; '
      .. 'until grep -q "^[0-9]* (.*) Z" /proc/$pid/stat; do sleep 0.01; done' } } } }
    H.write(dir .. "/config.json", cjson.encode(config))
    assert.same({ 1, "nsbox: the sandbox's process was killed by signal 9 while paused\n" },
      { nsbox("create", "--bundle", dir, ID) })
    assert.equal("", H.sh("ls " .. root))
  end)

  -- A pod's second container joins the first's PID namespace: nsbox's relay stays outside it, and the hooks and
  -- the state are given the container's own process, as runc gives them.
  H.root_it("gives the hooks and the state the process of a container that joins another's PID namespace",
    function()
      nsbox("create", "--bundle", dir, ID)
      nsbox("start", ID)
      local pod_ns = H.sh("readlink /proc/" .. state().pid .. "/ns/pid")
      local second = bundle { "sh", "-c", "echo second started; exec sleep 60" }
      H.on_end(function() B.remove(second) end)
      local config = cjson.decode(H.slurp(second .. "/config.json"))
      for _, ns in ipairs(config.linux.namespaces) do
        if ns.type == "pid" then ns.path = "/proc/" .. state().pid .. "/ns/pid" end
      end
      config.hooks = { createContainer = { { path = "/bin/sh", args = { "sh", "-c",
        (STATE_PID .. ' >%s/hook.pid; readlink /proc/self/ns/pid >%s/hook.ns')
        :format(second, second) } } } }
      H.write(second .. "/config.json", cjson.encode(config))
      local ID2 = ID .. "-second"
      H.on_end(function() H.sh(("bin/nsbox --root %s delete --force %s"):format(root, ID2)) end)
      assert.same({ 0, "" }, { nsbox("create", "--bundle", second, "--pid-file", second .. "/pid", ID2) })
      local pid = state(ID2).pid
      assert.same({ pod_ns, pod_ns, tostring(pid) .. "\n" }, { H.sh("readlink /proc/" .. pid .. "/ns/pid"),
        H.slurp(second .. "/hook.ns"), H.slurp(second .. "/hook.pid") })
      -- The pid file names the relay, the process an engine's monitor may reap: the container process's parent.
      local relay = H.slurp(second .. "/pid")
      assert.same({ "nsbox-init\n", relay }, { H.slurp("/proc/" .. relay .. "/comm"),
        H.slurp("/proc/" .. pid .. "/stat"):match("^.*%) %S+ (%d+)") })
      assert.same({ 0, "" }, { nsbox("start", ID2) })
      assert.same({ 0, "" }, { nsbox("kill", ID2, "KILL") })
      assert.is_true(wait_gone(pid))
      assert.equal("stopped", state(ID2).status)
    end)

  H.root_it("logs errors as JSON lines with --log-format json, and refuses --systemd-cgroup", function()
    local _, err, code = H.sh(("bin/nsbox --root %s --log %s/log.json --log-format=json state %s"):format(root, dir,
      ID))
    assert.same({ "nsbox: container does not exist\n", 1 }, { err, code })
    local entry = cjson.decode(H.slurp(dir .. "/log.json"))
    assert.same({ "error", "container does not exist" }, { entry.level, entry.msg })
    _, err, code = H.sh(("bin/nsbox --systemd-cgroup --root %s state %s"):format(root, ID))
    assert.equal(1, code)
    assert.matches("systemd%-cgroup", err)
  end)

  H.root_it("words a recipe the bundle makes invalid without a Lua position", function()
    local b = bundle { "true" }
    H.on_end(function() B.remove(b) end)
    local c = cjson.decode(H.slurp(b .. "/config.json"))
    c.root.path = "/"
    H.write(b .. "/config.json", cjson.encode(c))
    local _, err, code = H.sh(("bin/nsbox --root %s create --bundle %s %s"):format(root, b, ID))
    assert.equal(1, code)
    assert.matches("^nsbox: nsbox.recipe: 'rootfs'", err)
    assert.is_nil(err:find("%.lua:%d+:"), err)
  end)
end)

describe("the runtime's console socket", function()
  if H.sh("command -v python3") == "" then
    pending("receives the terminal's master (skipped: the receiver needs python3)")
    return
  end
  local dir, root
  local ID = "nsbox-spec-console"
  after_each(function()
    if not dir then return end
    H.sh(("bin/nsbox --root %s delete --force %s"):format(root, ID))
    B.remove(dir)
  end)

  -- A receiver listening on dir/console.sock; received() waits for what it kept.
  local function receiver()
    local socket = dir .. "/console.sock"
    H.sh(("python3 spec/support/console_receiver.py %s %s/console.out >/dev/null 2>&1 & "
      .. "for i in $(seq 50); do test -e %s.ready && break; sleep 0.1; done"):format(socket, dir, socket))
    return socket
  end
  local function received()
    H.sh(("for i in $(seq 100); do test -e %s/console.out && break; sleep 0.1; done"):format(dir))
    return H.slurp(dir .. "/console.out")
  end

  H.root_it("receives the master of the container's terminal at create, which start then runs on", function()
    dir = bundle { "sh", "-c", "tty; read line; echo got $line" }
    root = dir .. "/state"
    local config = cjson.decode(H.slurp(dir .. "/config.json"))
    config.process.terminal = true
    H.write(dir .. "/config.json", cjson.encode(config))
    local _, err, code = H.sh(("bin/nsbox --root %s create --bundle %s %s </dev/null"):format(root, dir, ID))
    assert.same({ "nsbox: cannot allocate tty if nsbox will detach without setting console socket\n", 1 },
      { err, code })
    local socket = receiver()
    assert.same({ "", 0 }, { select(2, H.sh(("bin/nsbox --root %s create --bundle %s --console-socket %s %s "
      .. "</dev/null >/dev/null"):format(root, dir, socket, ID))) })
    assert.same({ "", 0 }, { select(2, H.sh(("bin/nsbox --root %s start %s"):format(root, ID))) })
    assert.equal("typed\r\n/dev/pts/0\r\ngot typed\r\n", received())
  end)

  H.root_it("gives an exec --tty its own terminal through the console socket", function()
    dir = bundle { "sleep", "60" }
    root = dir .. "/state"
    H.sh(("bin/nsbox --root %s create --bundle %s %s </dev/null >/dev/null"):format(root, dir, ID))
    H.sh(("bin/nsbox --root %s start %s"):format(root, ID))
    local _, err, code = H.sh(("bin/nsbox --root %s exec --detach --tty %s sh"):format(root, ID))
    assert.same({ "nsbox: cannot allocate tty if nsbox will detach without setting console socket\n", 1 },
      { err, code })
    local socket = receiver()
    assert.same({ "", 0 }, { select(2, H.sh(("bin/nsbox --root %s exec --detach --tty --console-socket %s %s "
      .. "sh -c 'read line; echo got $line; tty'"):format(root, socket, ID))) })
    assert.equal("typed\r\ngot typed\r\n/dev/pts/0\r\n", received())
  end)
end)

describe("nsbox and crun through the same lifecycle", function()
  if H.sh("command -v crun") == "" then
    pending("give the same exit statuses and state fields (skipped: crun is not installed)")
    return
  end
  local dir
  after_each(function()
    if not dir then return end
    H.sh(("bin/nsbox --root %s/nsbox delete --force nsbox-spec-side; crun --root %s/crun delete -f nsbox-spec-side")
      :format(dir, dir))
    B.remove(dir)
  end)

  H.root_it("give the same exit statuses and state fields", function()
    dir = bundle { "sh", "-c", "exec sleep 60" }
    local results = {}
    for name, make in pairs { nsbox = nsbox_call, crun = crun_call } do
      local root, out = dir .. "/" .. name, dir .. "/" .. name .. ".out"
      local call, ID = make(root, out), "nsbox-spec-side"
      local seen = {}
      local function step(...) seen[#seen + 1] = call(...) end
      step("create", "--bundle", dir, ID)
      local program = name == "nsbox" and "bin/nsbox" or "crun"
      local created = cjson.decode((H.sh(("%s --root %s state %s"):format(program, root, ID))))
      local keys = {}
      for key in pairs(created) do keys[#keys + 1] = key end
      table.sort(keys)
      step("start", ID)
      step("start", ID)
      local pid = math.tointeger(created.pid)
      step("kill", ID, "9")
      assert.is_true(wait_gone(pid))
      step("kill", ID, "9")
      step("delete", ID)
      step("delete", ID)
      step("delete", "--force", ID)
      step("state", ID)
      results[name] = { codes = table.concat(seen, " "), keys = table.concat(keys, " ") }
    end
    assert.equal(results.crun.codes, results.nsbox.codes)
    assert.equal((results.crun.keys:gsub(" systemd%-scope", "")), results.nsbox.keys)
  end)
end)

describe("nsbox spec and nsbox features", function()
  it("--version prints runc's shape, also after runc's global flags", function()
    local text = H.nsbox { "--version" }
    assert.matches("^nsbox version %S+\nspec: 1%.0%.2\n$", text)
    assert.same({ text, "", 0 }, { H.nsbox { "--root", "/nonexistent", "--log-format", "json", "--version" } })
    assert.equal(cjson.decode((H.nsbox { "features" })).ociVersionMax, text:match("spec: (%S+)"))
  end)

  it("print what the runtime can do as runc's features JSON", function()
    local text, err, code = H.nsbox { "features" }
    assert.same({ "", 0 }, { err, code })
    local features = cjson.decode(text)
    assert.same({ "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop" },
      features.hooks)
    assert.same({ "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts" }, features.linux.namespaces)
    assert.is_true(#features.mountOptions > 0 and #features.linux.capabilities > 0)
    local cgroup = features.linux.cgroup
    assert.same({ true, true, false }, { cgroup.v1, cgroup.v2, cgroup.systemd })
  end)

  local dir
  after_each(function() if dir then B.remove(dir) end end)

  -- The starter config with a command in place of its interactive shell.
  local function starter(flags, nobody)
    dir = B.rootfs { "bin", "proc", "dev", "sys" }
    -- Writable for nobody: the rootless case writes config.json and its state there.
    assert(os.execute(("cd %s && mkdir -p b/rootfs && mv bin proc dev sys b/rootfs/ && chmod a+rwx . b"):format(dir)))
    local _, err, code = H.nsbox({ "spec", "--bundle", dir .. "/b", table.unpack(flags) }, { nobody = nobody })
    assert.same({ "", 0 }, { err, code })
    assert.same({ "", "nsbox: File " .. dir .. "/b/config.json exists. Remove it first\n", 1 },
      { H.nsbox { "spec", "--bundle", dir .. "/b" } })
    local config = cjson.decode(H.slurp(dir .. "/b/config.json"))
    config.process.terminal, config.process.args = false, { "sh", "-c", "hostname; id -u" }
    H.write(dir .. "/b/config.json", cjson.encode(config))
  end

  H.root_it("write a starter config.json that runs as it is", function()
    starter {}
    assert.same({ "nsbox\n0\n", "", 0 }, { H.sh(("cd %s/b && %s/bin/nsbox --root %s/state run box </dev/null")
      :format(dir, os.getenv("PWD"), dir)) })
  end)

  H.root_it("write a rootless starter config.json that an unprivileged user runs", function()
    starter({ "--rootless" }, true)
    assert.same({ "nsbox\n0\n", "", 0 }, { H.sh(("cd %s/b && %s%s/bin/nsbox --root %s/state run box </dev/null")
      :format(dir, H.NOBODY, os.getenv("PWD"), dir)) })
  end)
end)

describe("the runtime for an unprivileged user", function()
  local dir
  after_each(function()
    if not dir then return end
    H.sh(("%sbin/nsbox --root %s/state delete --force box"):format(H.NOBODY, dir))
    B.remove(dir)
  end)

  H.root_it("creates, starts, execs in and deletes a rootless container", function()
    dir = B.rootfs { "bin", "proc", "dev", "sys" }
    assert(os.execute(("cd %s && mkdir -p b/rootfs && mv bin proc dev sys b/rootfs/ && chmod a+rwx . b"):format(dir)))
    local nsbox = ("cd %s/b && %s%s/bin/nsbox --root %s/state "):format(dir, H.NOBODY, os.getenv("PWD"), dir)
    assert.same({ "", "", 0 }, { H.sh(nsbox .. "spec --rootless") })
    local config = cjson.decode(H.slurp(dir .. "/b/config.json"))
    config.process.terminal, config.process.args = false, { "sh", "-c", "echo up; exec sleep 60" }
    H.write(dir .. "/b/config.json", cjson.encode(config))
    assert.same({ "", "", 0 }, { H.sh(nsbox .. "create box </dev/null >out 2>&1") })
    assert.same({ "", "", 0 }, { H.sh(nsbox .. "start box") })
    assert.same({ "0\nnsbox\n", "", 0 }, { H.sh(nsbox .. "exec box sh -c 'id -u; hostname'") })
    assert.same({ "", "", 0 }, { H.sh(nsbox .. "delete --force box") })
    assert.equal("up\n", H.slurp(dir .. "/b/out"))
  end)
end)
