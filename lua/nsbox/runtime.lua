-- nsbox.runtime: an OCI runtime with runc's command line, for container
-- engines (podman through conmon, containerd's shim):
--
--   nsbox [GLOBAL...] create [--bundle DIR] [--pid-file F] [--console-socket S] [--preserve-fds N] ID
--   nsbox [GLOBAL...] start|state ID;  kill [--all] ID [SIGNAL];  delete [--force] ID
--   nsbox [GLOBAL...] run [--bundle DIR] [--detach] [--pid-file F] [--console-socket S] ID
--   nsbox [GLOBAL...] exec [--process F.json] [--detach] [--pid-file F] [--console-socket S] [--tty]
--                          [--cwd D] [--env K=V]... [--user UID[:GID]] [--cap CAP]... ID [CMD...]
--   nsbox [GLOBAL...] list [--format table|json];  ps [--format table|json] ID
--   nsbox [GLOBAL...] --version
--   GLOBAL: --root DIR, --log FILE, --log-format text|json, --debug
--
-- create leaves the container's process parked before exec (runtime.c) and
-- exits: the process is then the child of whoever adopts it, the engine's
-- monitor. Flags are read as runc's Go flag parser reads them: one or two
-- dashes, the value after a space or an "=", flags before the operands.
-- Errors go to stderr and, with --log, to the log file; the exit status is 1.

local core = require "nsbox.core"
local cjson = require "cjson"
local S = require "nsbox.runtime_state"

-- The recipe machinery (nsbox, nsbox.oci, the hooks) is loaded by the verbs
-- that spawn: start, state, kill and delete, which engines call most, start
-- faster without it.
local function lazy(name)
  return setmetatable({}, { __index = function(_, key) return require(name)[key] end })
end
local nsbox, oci, hooks, cgroups = lazy "nsbox", lazy "nsbox.oci", lazy "nsbox.runtime_hooks", lazy "nsbox.cgroups"

local M = {}

-- The runtime spec's version nsbox follows (features' ociVersionMax).
M.SPEC_VERSION = "1.0.2"

-- --version in runc's shape: the engines' parsers take the word after "version" on the first line (docker) or
-- the line "spec: V" (containerd's go-runc); podman shows it as it is; people read it as well.
function M.version()
  return ("nsbox version %s\nspec: %s"):format(require("nsbox").VERSION, M.SPEC_VERSION)
end

-- ---- flags ----

-- name -> "value" | "bool" | "list" | "=other" (a short form of other)
local GLOBAL = {
  root = "value", log = "value", ["log-format"] = "value", debug = "bool", ["systemd-cgroup"] = "bool",
  ["cgroup-manager"] = "value", rootless = "value", version = "bool",
}
local CREATE = {
  bundle = "value", b = "=bundle", ["pid-file"] = "value", ["console-socket"] = "value",
  ["no-pivot"] = "bool", ["no-new-keyring"] = "bool", ["preserve-fds"] = "value",
}
local RUN = { detach = "bool", d = "=detach", keep = "bool" }
for name, kind in pairs(CREATE) do RUN[name] = kind end
local EXEC = {
  process = "value", p = "=process", detach = "bool", d = "=detach", ["pid-file"] = "value",
  ["console-socket"] = "value", tty = "bool", t = "=tty", cwd = "value", env = "list", e = "=env",
  user = "value", u = "=user", cap = "list", c = "=cap", ["no-new-privs"] = "bool", ["preserve-fds"] = "value",
  ["additional-gids"] = "list", g = "=additional-gids", ["process-label"] = "value", apparmor = "value",
  ["ignore-paused"] = "bool",
}

local function fail(fmt, ...)
  error(select("#", ...) > 0 and fmt:format(...) or fmt, 0)
end

local function set_flag(opts, spec, name, value, word)
  local kind = spec[name]
  if kind and kind:sub(1, 1) == "=" then name, kind = kind:sub(2), spec[kind:sub(2)] end
  if not kind then fail("flag provided but not defined: %s", word) end
  if kind == "bool" then
    if value ~= nil and value ~= "true" and value ~= "false" then
      fail("invalid boolean value %q for %s", value, word)
    end
    opts[name] = value ~= "false"
    return false
  end
  if kind == "list" then
    opts[name] = opts[name] or {}
    if value then table.insert(opts[name], value) end
    return value == nil and name
  end
  opts[name] = value
  return value == nil and name
end

-- Flags from args[i] on -> opts, the index of the first operand.
local function parse_flags(args, i, spec)
  local opts = {}
  while args[i] do
    local word = args[i]
    if word == "--" then return opts, i + 1 end
    local name, value = word:match("^%-%-?([%w][%w-]*)=(.*)$")
    if not name then name = word:match("^%-%-?([%w][%w-]*)$") end
    if not name then break end
    local wants = set_flag(opts, spec, name, value, word)
    if wants then
      i = i + 1
      if args[i] == nil then fail("flag needs an argument: %s", word) end
      if type(opts[wants]) == "table" then table.insert(opts[wants], args[i]) else opts[wants] = args[i] end
    end
    i = i + 1
  end
  return opts, i
end

-- ---- logging ----

local global = {}

local function timestamp()
  return os.date("!%Y-%m-%dT%H:%M:%SZ")
end

local function log(level, message)
  if not global.log or (level == "debug" and not global.debug) then return end
  local f = io.open(global.log, "a")
  if not f then return end
  if global["log-format"] == "json" then
    f:write(('{"level":%s,"msg":%s,"time":%s}\n'):format(S.encode(level), S.encode(message),
      S.encode(timestamp())))
  else
    f:write(("time=%q level=%s msg=%q\n"):format(timestamp(), level, message))
  end
  f:close()
end

-- ---- helpers ----

local function operand(args, i, what)
  if not args[i] then fail("%s requires exactly one argument", what) end
  return args[i]
end

local function read_json(path, what)
  local f, message = io.open(path)
  if not f then fail("%s: %s", what, message) end
  local text = f:read("a")
  f:close()
  local ok, value = pcall(cjson.decode, text)
  if not ok or type(value) ~= "table" then fail("%s: invalid JSON", path) end
  return value
end

-- A translation's refusal without the Lua position of the call that raised it.
-- fn(...), its error without the Lua position nsbox's refusals carry: the
-- words go to engines and the --log file, which have no use for our lines.
local function plainly(fn, ...)
  local results = table.pack(pcall(fn, ...))
  if not results[1] then error((tostring(results[2]):gsub("^[^\n]-:%d+: (nsbox)", "%1")), 0) end
  return table.unpack(results, 2, results.n)
end

-- Whether containers get cgroups: not with --cgroup-manager=disabled, as crun's.
local function makes_cgroups()
  return global["cgroup-manager"] ~= "disabled"
end

-- Without cgroups, linux.resources and cgroupsPath are refused, but for the device rules that hold
-- without a device cgroup (nsbox.oci).
local function translated(config, bundle)
  return plainly(oci.translate, config, bundle, { cgroups = makes_cgroups() })
end

-- The container's state, locked until unlock; runc's words when there is none.
local function open(root, id)
  local c, message = S.open(root, id)
  if not c then fail(message) end
  return c
end

-- runc writes the pid file whole, under another name first.
local function write_pid_file(path, pid)
  if not path then return end
  local tmp = path .. ".tmp"
  local f, message = io.open(tmp, "w")
  if not f then fail("pid file: %s", message) end
  f:write(tostring(pid))
  f:close()
  local ok, err = os.rename(tmp, path)
  if not ok then fail("pid file: %s", err) end
end

-- --preserve-fds N: the caller's 3 .. 3+N-1 at the same numbers.
local function preserved_fds(n)
  local count = math.tointeger(tonumber(n or "0"))
  if not count or count < 0 then fail("--preserve-fds must be a number, got %s", n) end
  local fds = {}
  for fd = 3, 3 + count - 1 do fds[fd] = fd end
  return fds
end

local EXEC_ERRORS = { [2] = "executable file not found in $PATH", [13] = "permission denied" }

-- Podman reads the exit status 126/127 from these words, as runc writes them.
local function start_failure(argv0, message, errno)
  local why = EXEC_ERRORS[errno] or message
  return ('exec failed: unable to start container process: exec: "%s": %s'):format(argv0, why)
end

-- The container's cgroups, where create made them (nsbox.cgroups' record in the state).
local function cgroup_of(c)
  return c.fields.cgroup and cgroups.adopt(c.fields.cgroup)
end

-- The pids of the container: those in its cgroups, else every process in its PID namespace when it has its
-- own, else its pid.
local function container_pids(c)
  local cg = cgroup_of(c)
  local in_cgroup = cg and cg:pids()
  if in_cgroup then return in_cgroup end
  local pid = c.fields.pid
  local theirs = core.nsid(pid, "pid")
  if not theirs or theirs == core.nsid(nil, "pid") then return { pid } end
  local pids = {}
  for _, p in ipairs(core.procs()) do
    if core.nsid(p.pid, "pid") == theirs then pids[#pids + 1] = p.pid end
  end
  return pids
end

local function signal_number(word)
  local n = math.tointeger(tonumber(word))
  if n then
    if n < 1 or n > 64 then fail("invalid signal %s", word) end
    return n
  end
  local ok, sig = pcall(core.signum, word)
  if not ok then fail('unknown signal "%s"', word) end
  return sig
end

-- ---- create and start ----

local function bundle_of(opts)
  local dir, message = core.realpath(opts.bundle or ".")
  if not dir then fail("bundle: %s", message) end
  return dir
end

local function config_of(bundle)
  return read_json(bundle .. "/config.json", "config.json")
end

-- Every container gets cgroups where the caller may make them (in every hierarchy, for update and pause),
-- named after it unless linux.cgroupsPath places them. nsbox makes cgroups only beneath its caller's: an
-- absolute cgroupsPath elsewhere (podman's /libpod_parent/libpod-ID, called by conmon in
-- /libpod_parent/conmon) is taken as the same path beneath the caller's cgroup. None without
-- makes_cgroups() (translated refused what would need them).
local function with_cgroups(r, id)
  if not makes_cgroups() or not r.cgroup and not cgroups.possible() then return end
  r.cgroup = r.cgroup or {}
  r.cgroup.every_hierarchy = true
  local path = r.cgroup.path
  if not path then
    r.cgroup.name = "nsbox-" .. id:gsub("[^%w._-]", "_")
  elseif path:sub(1, 1) == "/" and not cgroups.beneath_caller(path) then
    r.cgroup.path = path:gsub("^/+", "")
    log("debug", ("cgroupsPath %s is made beneath the caller's cgroup, as %s"):format(path, r.cgroup.path))
  end
end

-- The process a spawn runs, compiled: the translation's recipe without an init (the
-- container's process is its PID 1, as runc makes it); pause: it waits before pivot_root for create's hooks.
local function container_recipe(config, bundle, id, pause)
  local r = translated(config, bundle)
  with_cgroups(r, id)
  r.pause_before_root = pause
  local argv = r.argv
  if not argv then fail("config.json: process.args is required") end
  -- compiled here: its steps tell container_pid_of whether there is a relay
  local compiled, message = plainly(nsbox.compile, plainly(nsbox.recipe, r, { init = false }))
  if not compiled then fail(message) end
  return compiled, argv, r.tty
end

local function spawn_options(opts, tty)
  if tty and not opts["console-socket"] and opts.detached then
    fail("cannot allocate tty if nsbox will detach without setting console socket")
  end
  if opts["console-socket"] and not tty then fail("cannot use console socket if nsbox will not allocate tty") end
  return { tty = opts["console-socket"] and true or nil, fds = preserved_fds(opts["preserve-fds"]) }
end

local function hand_terminal(proc, opts)
  if not proc.tty then return end
  local ok, message = core.send_fd(opts["console-socket"], proc.tty)
  proc.tty:close()
  if not ok then fail(message) end
end

-- What state.json keeps besides the pid; config's hooks are taken out of it.
local function fields_of(config, bundle)
  local root = type(config.root) == "table" and config.root.path or "rootfs"
  return { bundle = bundle, rootfs = root:sub(1, 1) == "/" and root or (bundle .. "/" .. root),
    created = timestamp(), annotations = config.annotations, oci_version = config.ociVersion,
    hooks = hooks.take(config) }
end

-- Hooks whose failure fails the step: an error naming the hook.
local function run_hooks(c, names, status, in_container)
  for _, name in ipairs(names) do
    local pid = in_container and c.fields.pid or nil
    local why = c.fields.hooks[name] and hooks.run(c.fields.hooks, name, c:state_json(status), pid)
    if why then fail(why) end
  end
end

-- Hooks whose failure is only logged (poststart, poststop).
local function run_hooks_logged(c, name, status)
  local why = c.fields.hooks[name] and hooks.run(c.fields.hooks, name, c:state_json(status))
  if why then log("warning", why) end
end

local function has_hooks(c)
  return next(c.fields.hooks) ~= nil
end

-- The hooks create runs while the container waits just before pivot_root: its namespaces and mounts made, the
-- root not yet entered, as the OCI spec places them.
local BEFORE_ROOT = { "prestart", "createRuntime", "createContainer" }

local function has_hooks_before_root(c)
  for _, name in ipairs(BEFORE_ROOT) do
    if c.fields.hooks[name] then return true end
  end
  return false
end

-- options.paused for the spawn: prestart (deprecated; "created", as crun gives it and runtime-tools' hooks_stdin
-- test expects) and createRuntime in our namespaces, createContainer in the container's, where the old root is
-- still the root: its path resolves as in ours, as the spec asks. A failure kills the container and fails create.
local function run_hooks_before_root(c, container_pid)
  return function(pid)
    pid = container_pid(pid)
    c.fields.pid, c.fields.start_time = pid, select(2, S.process(pid))
    run_hooks(c, { "prestart" }, "created")
    run_hooks(c, { "createRuntime" }, "creating")
    run_hooks(c, { "createContainer" }, "creating", true)
    return true
  end
end

-- The container's process, from the pid spawn gives: with a fork step (a PID or time namespace joined, which
-- only children made afterwards enter), that pid is the relay staying outside, and the container's process is its
-- only child, the process hooks and the state are about, as runc's. The relay itself once its child is gone.
local function container_pid_of(recipe)
  for _, step in ipairs(recipe.plan.steps) do
    if step.op == "fork" then return function(relay) return S.child_of(relay) or relay end end
  end
  return function(pid) return pid end
end

-- Spawn the container with opts (park: parked on its exec.sock); its pid in the state and the pid file.
local function spawn_into(c, opts, config, bundle)
  local pause = has_hooks_before_root(c)
  local recipe, argv, tty = container_recipe(config, bundle, c.fields.id, pause or nil)
  local container_pid = container_pid_of(recipe)
  local options = spawn_options(opts, tty)
  options.paused = pause and run_hooks_before_root(c, container_pid) or nil
  local park
  if opts.parked then
    park = assert(core.park_socket(c:socket()))
    options.park = park
  end
  local proc, message = nsbox.spawn(recipe, argv, options)
  if park then core.close(park) end
  if not proc then fail(message) end
  c.fields.cgroup = proc.cgroup and proc.cgroup:record()
  hand_terminal(proc, opts)
  local pid = container_pid(proc.pid)
  c.fields.pid, c.fields.argv0 = pid, argv[1]
  c.fields.start_time = select(2, S.process(pid))
  c:save()
  -- The engine's monitor (conmon, a subreaper) reaps the pid it is given to learn the exit status: the relay's,
  -- which exits with its child's; the child itself is the relay's to reap.
  write_pid_file(opts["pid-file"], proc.pid)
  log("debug", ("container %s: pid %d"):format(c.fields.id, pid))
  return proc
end

-- The container killed, its cgroups removed (killing what is left there), its poststop hooks run, its state gone.
local function destroy(c)
  local cg = cgroup_of(c)
  if c:alive() then
    for _, pid in ipairs(container_pids(c)) do core.kill(pid, 9) end
    if cg then cg:freeze(false) end -- a process frozen by cgroup v1's freezer dies only once thawed
    if not core.wait_gone(c.fields.pid, 10000) then fail("container %s did not die of SIGKILL", c.fields.id) end
  end
  if cg then
    local ok, message = cg:remove()
    if not ok then log("warning", message .. " (left behind)") end
  end
  run_hooks_logged(c, "poststop", "stopped")
  c:remove()
end

-- The container spawned parked (opts.parked) or not, create's hooks run on the way:
-- a failure leaves nothing behind, no state and no process.
local function creating(root, id, opts)
  local bundle = bundle_of(opts)
  local config = config_of(bundle)
  local c = S.new(root, id, fields_of(config, bundle))
  opts.parked = opts.parked or has_hooks(c)
  local ok, proc = pcall(spawn_into, c, opts, config, bundle)
  if not ok then
    if c.fields.pid then destroy(c) else c:remove() end
    error(proc, 0)
  end
  return c, proc
end

local function create(root, id, opts)
  opts.parked, opts.detached = true, true
  local c, proc = creating(root, id, opts)
  proc:detach()
  c:unlock()
end

local START_REFUSED = {
  running = "cannot start an already running container", stopped = "cannot start a container that has stopped",
  creating = "cannot start a container that is still being created",
}

-- A startContainer hook that fails stops the container, as runtime.md asks.
local function release(c)
  local ok, why = pcall(run_hooks, c, { "startContainer" }, "created", true)
  if not ok then
    core.kill(c.fields.pid, 9)
    fail(why)
  end
  local released, message, errno = core.release(c:socket())
  os.remove(c:socket())
  if not released then fail(start_failure(c.fields.argv0 or "", message, errno)) end
  run_hooks_logged(c, "poststart", "running")
end

local function start(root, id)
  local c = open(root, id)
  local status = c:status()
  if status ~= "created" then fail(START_REFUSED[status]) end
  release(c)
  c:unlock()
end

-- ---- kill and delete ----

local function kill(root, id, opts, sig)
  local signal = signal_number(sig or "SIGTERM")
  local c = open(root, id)
  if c:status() == "stopped" then fail("container not running") end
  local pids = opts.all and container_pids(c) or { c.fields.pid }
  for _, pid in ipairs(pids) do core.kill(pid, signal) end
  c:unlock()
end

local function delete(root, id, opts)
  local c, message = S.open(root, id)
  if not c then
    if opts.force then return end
    fail(message)
  end
  local status = c:status()
  if status ~= "stopped" and status ~= "created" and not opts.force then
    c:unlock()
    fail("cannot delete container %s that is not stopped: %s", id, status)
  end
  destroy(c)
end

-- ---- run ----

local function exit_code(how, code)
  return how == "signal" and 128 + code or code
end

-- In the foreground: the container is our child, waited for; its status is ours.
local function run(root, id, opts)
  if opts.detach then
    create(root, id, opts)
    return start(root, id)
  end
  local c, proc = creating(root, id, opts)
  if opts.parked then release(c) end
  c:unlock()
  local _, how, code = proc:wait()
  local after = S.open(root, id)
  if after and not opts.keep then
    run_hooks_logged(after, "poststop", "stopped")
    after:remove()
  elseif after then
    after:unlock()
  end
  os.exit(exit_code(how, code))
end

-- ---- exec ----

local function user_of(word, p)
  local uid, gid = word:match("^(%d+):(%d+)$")
  uid = uid or word:match("^(%d+)$")
  if not uid then fail("--user must be UID[:GID], got %s", word) end
  p.user = p.user or {}
  p.user.uid, p.user.gid = tonumber(uid), tonumber(gid or p.user.gid or 0)
end

local CAP_SETS = { "bounding", "effective", "permitted" }

local function add_caps(p, caps)
  p.capabilities = p.capabilities or {}
  for _, set in ipairs(CAP_SETS) do
    p.capabilities[set] = p.capabilities[set] or {}
    for _, cap in ipairs(caps) do table.insert(p.capabilities[set], cap) end
  end
end

-- The process to exec: --process's JSON, or the container's own process with the flags' changes.
local function exec_process(c, opts, argv)
  if opts.process then return read_json(opts.process, "--process") end
  if #argv == 0 then fail("exec needs a command: exec ID CMD [ARG...]") end
  local config = config_of(c.fields.bundle)
  local p = type(config.process) == "table" and config.process or {}
  p.args, p.terminal = argv, opts.tty or false
  if opts.cwd then p.cwd = opts.cwd end
  if opts.env then
    p.env = p.env or {}
    for _, e in ipairs(opts.env) do p.env[#p.env + 1] = e end
  end
  if opts.user then user_of(opts.user, p) end
  if opts.cap then add_caps(p, opts.cap) end
  if opts["no-new-privs"] then p.noNewPrivileges = true end
  for i, gid in ipairs(opts["additional-gids"] or {}) do
    p.user = p.user or { uid = 0, gid = 0 }
    p.user.additionalGids = p.user.additionalGids or {}
    p.user.additionalGids[i] = tonumber(gid) or fail("--additional-gids must be numbers, got %s", gid)
  end
  return p
end

local function exec(root, id, opts, argv)
  local c = open(root, id)
  if c:status() == "stopped" then fail("cannot exec in a stopped container") end
  local pid = c.fields.pid
  local p = exec_process(c, opts, argv)
  local joins_cgroups = c.fields.cgroup ~= nil
  c:unlock()
  local r = translated({ process = p })
  r.join, r.namespaces = pid, {}
  if joins_cgroups then r.cgroup = { join = pid } end
  local recipe = plainly(nsbox.recipe, r)
  local options = spawn_options({ ["console-socket"] = opts["console-socket"], detached = opts.detach,
    ["preserve-fds"] = opts["preserve-fds"] }, r.tty)
  local proc, message, errno, step = nsbox.spawn(recipe, r.argv, options)
  if not proc then fail(step == "exec" and start_failure(r.argv[1], message, errno) or message) end
  hand_terminal(proc, opts)
  write_pid_file(opts["pid-file"], proc.pid) -- with a relay, the relay: the one its monitor may reap (see spawn_into)
  if opts.detach then return proc:detach() end
  local _, how, code = proc:wait()
  os.exit(exit_code(how, code))
end

-- ---- list and ps ----

local function list(root, opts)
  local states = {}
  for _, id in ipairs(S.ids(root)) do
    local c = S.open(root, id)
    if c then
      states[#states + 1] = { id = id, pid = c:alive() and c.fields.pid or 0, status = c:status(),
        bundle = c.fields.bundle, created = c.fields.created, json = c:state_json() }
      c:unlock()
    end
  end
  if opts.format == "json" then
    local items = {}
    for i, s in ipairs(states) do items[i] = s.json end
    return print("[" .. table.concat(items, ",") .. "]")
  end
  if opts.quiet then
    for _, s in ipairs(states) do print(s.id) end
    return
  end
  print(("%-12s %-8s %-10s %-40s %s"):format("ID", "PID", "STATUS", "BUNDLE", "CREATED"))
  for _, s in ipairs(states) do
    print(("%-12s %-8d %-10s %-40s %s"):format(s.id, s.pid, s.status, s.bundle, s.created))
  end
end

local function ps(root, id, opts)
  local c = open(root, id)
  local pids = c:alive() and container_pids(c) or {}
  c:unlock()
  if opts.format == "json" then return print("[" .. table.concat(pids, ",") .. "]") end
  print("PID")
  for _, pid in ipairs(pids) do print(pid) end
end

-- ---- pause, resume and update: the container's cgroups ----

local function cgroup_or_fail(c)
  local cg = cgroup_of(c)
  if not cg then
    c:unlock()
    fail("container %s has no cgroups (its caller could make none, or it was made with --cgroup-manager=disabled)",
      c.fields.id)
  end
  return cg
end

local function freeze(root, id, frozen)
  local c = open(root, id)
  local status = c:status()
  if frozen and status ~= "running" then fail("container not running") end
  if not frozen and status ~= "paused" then fail("container not paused") end
  local ok, message = cgroup_or_fail(c):freeze(frozen)
  if not ok then fail(message) end
  c:unlock()
end

-- runc update's flags -> where they go in linux.resources, and how their values read.
local UPDATE = {
  memory = { "memory", "limit", "size" }, ["memory-swap"] = { "memory", "swap", "size" },
  ["memory-reservation"] = { "memory", "reservation", "size" }, ["pids-limit"] = { "pids", "limit" },
  ["cpu-quota"] = { "cpu", "quota" }, ["cpu-period"] = { "cpu", "period" }, ["cpu-share"] = { "cpu", "shares" },
  ["cpuset-cpus"] = { "cpu", "cpus", "text" }, ["cpuset-mems"] = { "cpu", "mems", "text" },
  ["blkio-weight"] = { "blockIO", "weight" },
}
local UPDATE_FLAGS = { resources = "value", r = "=resources" }
for name in pairs(UPDATE) do UPDATE_FLAGS[name] = "value" end

-- linux.resources from --resources (a file, or "-": stdin) and the flags, which override it.
local function new_resources(opts)
  local res = {}
  if opts.resources == "-" then
    local ok, value = pcall(cjson.decode, io.read("a"))
    if not ok or type(value) ~= "table" then fail("--resources: invalid JSON on stdin") end
    res = value
  elseif opts.resources then
    res = read_json(opts.resources, "--resources")
  end
  res.devices = nil -- runc update leaves device rules as create wrote them
  for flag, to in pairs(UPDATE) do
    local word = opts[flag]
    if word then
      local value = to[3] == "text" and word or to[3] == "size" and cgroups.size(word, "--" .. flag)
        or math.tointeger(tonumber(word)) or fail("--%s must be a number, got %s", flag, word)
      res[to[1]] = res[to[1]] or {}
      res[to[1]][to[2]] = value
    end
  end
  return res
end

local function update(root, id, opts)
  local c = open(root, id)
  if c:status() == "stopped" then fail("container not running") end
  local cg = cgroup_or_fail(c)
  local r = translated({ linux = { resources = new_resources(opts) } })
  if r.cgroup then
    local ok, message = cg:update { limits = r.cgroup.limits, unified = r.cgroup.unified }
    if not ok then fail(message) end
  end
  c:unlock()
end

-- ---- features and spec ----

local function write_spec(opts)
  local path = (opts.bundle or ".") .. "/config.json"
  if core.realpath(path) then fail("File %s exists. Remove it first", path) end
  local config = require "nsbox.runtime_config"
  local f, message = io.open(path, "w")
  if not f then fail(message) end
  f:write(config.pretty(config.starter(opts.rootless)), "\n")
  f:close()
end

-- ---- the command line ----

local UNSUPPORTED = { checkpoint = "no CRIU", restore = "no CRIU", events = "no cgroup statistics" }

M.VERBS = {
  create = { flags = CREATE, run = function(root, o, args, i) create(root, operand(args, i, "create"), o) end },
  start = { flags = {}, run = function(root, _, args, i) start(root, operand(args, i, "start")) end },
  state = { flags = {}, run = function(root, _, args, i)
    local c = open(root, operand(args, i, "state"))
    print(c:state_json())
    c:unlock()
  end },
  kill = { flags = { all = "bool", a = "=all" },
    run = function(root, o, args, i) kill(root, operand(args, i, "kill"), o, args[i + 1]) end },
  delete = { flags = { force = "bool", f = "=force" },
    run = function(root, o, args, i) delete(root, operand(args, i, "delete"), o) end },
  run = { flags = RUN, run = function(root, o, args, i) run(root, operand(args, i, "run"), o) end },
  exec = { flags = EXEC, run = function(root, o, args, i)
    exec(root, operand(args, i, "exec"), o, table.move(args, i + 1, #args, 1, {}))
  end },
  list = { flags = { format = "value", f = "=format", quiet = "bool", q = "=quiet" },
    run = function(root, o) list(root, o) end },
  ps = { flags = { format = "value", f = "=format" },
    run = function(root, o, args, i) ps(root, operand(args, i, "ps"), o) end },
  pause = { flags = {}, run = function(root, _, args, i) freeze(root, operand(args, i, "pause"), true) end },
  resume = { flags = {}, run = function(root, _, args, i) freeze(root, operand(args, i, "resume"), false) end },
  update = { flags = UPDATE_FLAGS, run = function(root, o, args, i) update(root, operand(args, i, "update"), o) end },
  features = { flags = {}, stateless = true, run = function()
    local config = require "nsbox.runtime_config"
    print(config.pretty(config.features()))
  end },
  spec = { flags = { rootless = "bool", bundle = "value", b = "=bundle" }, stateless = true,
    run = function(_, o) write_spec(o) end },
}
for verb in pairs(UNSUPPORTED) do M.VERBS[verb] = M.VERBS[verb] or { unsupported = true } end

-- Whether args, after runc's global flags, name a runtime verb or end with --version: bin/nsbox then hands
-- them here.
function M.wants(args)
  local ok, g, i = pcall(parse_flags, args, 1, GLOBAL)
  return ok and (M.VERBS[args[i]] ~= nil or (g.version and args[i] == nil)) or false
end

local function refuse_globals(g)
  if g["systemd-cgroup"] or g["cgroup-manager"] == "systemd" then
    fail("--systemd-cgroup: nsbox manages no cgroups through systemd; use the cgroupfs manager")
  end
  if g["log-format"] and g["log-format"] ~= "text" and g["log-format"] ~= "json" then
    fail("--log-format must be text or json, got %s", g["log-format"])
  end
end

local function dispatch(args)
  local i
  global, i = parse_flags(args, 1, GLOBAL)
  if global.version then return print(M.version()) end
  refuse_globals(global)
  local verb = args[i]
  local entry = M.VERBS[verb]
  if entry.unsupported then fail("'%s' is not supported by nsbox's runtime (%s)", verb, UNSUPPORTED[verb]) end
  local opts, from = parse_flags(args, i + 1, entry.flags)
  log("debug", "nsbox " .. table.concat(args, " "))
  entry.run(global.root and S.absolute(global.root) or (not entry.stateless and S.default_root() or nil), opts, args,
    from)
end

-- bin/nsbox's arguments; exits 0, or 1 with the error on stderr and in the log.
function M.main(args)
  local ok, message = pcall(dispatch, args)
  if ok then os.exit(0) end
  -- A refusal of nsbox.check's (a limit's value, from update's flags) carries its message.
  message = type(message) == "table" and message.message or tostring(message)
  log("error", message)
  io.stderr:write("nsbox: ", message, "\n")
  os.exit(1)
end

return M
