-- nsbox: run a process in new Linux namespaces, described by a Lua recipe.
--
--   local nsbox = require "nsbox"
--   local r = nsbox.recipe { namespaces = { "uts" }, hostname = "box" }
--   print(nsbox.run(r, { "hostname" }))   --> true  exit  0

local core = require "nsbox.core"
local check = require "nsbox.check"
local recipe = require "nsbox.recipe"

local M = { core = core, VERSION = "scm-1" } -- the rockspec's version

local Compiled = { __name = "nsbox.compiled" }
Compiled.__index = Compiled

M.recipe = recipe.compose

-- Recipe fragments to compose with: nsbox.recipe(nsbox.protect_kernel, { ... }).
M.protect_kernel = require("nsbox.rootfs").PROTECT_KERNEL

local function logging(r)
  local level = r.log or os.getenv("NSBOX_LOG")
  return level == "debug"
end

local function log(fmt, ...)
  io.stderr:write("nsbox: ", fmt:format(...), "\n")
end

local function log_plan(r, plan)
  log("namespaces: %s", #r.namespaces > 0 and table.concat(r.namespaces, ", ") or "(none)")
  if plan.uid_map then
    log("uid_map: %s; gid_map: %s", plan.uid_map:gsub("\n$", ""):gsub("\n", ", "),
      plan.gid_map:gsub("\n$", ""):gsub("\n", ", "))
  end
  for i, step in ipairs(plan.steps) do log("step %d: %s", i, step.desc) end
end

-- A recipe, its table or a compiled one -> compiled; caller names the public
-- function in messages about its arguments.
local function compile(r, caller)
  if getmetatable(r) == Compiled then return r end
  if getmetatable(r) ~= recipe.Recipe then
    if type(r) ~= "table" then
      check.invalid("'recipe' (argument #1 of nsbox.%s) must be a recipe or a table, got %s", caller, type(r))
    end
    r = recipe.build(r)
  end
  local plan, message, errno = recipe.compile(r)
  if not plan then return nil, message, errno end
  local c = setmetatable({
    recipe = r, plan = plan, core_plan = core.plan(plan), env = plan.env,
    argv = r.argv, log = logging(r),
  }, Compiled)
  if c.log then log_plan(r, plan) end
  return c
end

-- nsbox.compile(recipe) -> compiled: validated and turned into a C plan once,
-- ready to be spawned any number of times; nil, message, errno when a process
-- the recipe joins is gone.
function M.compile(r)
  return check.refusing("nsbox: ", compile, r, "compile")
end

local OPTIONS = {
  foreground = true, stdin = true, stdout = true, stderr = true, fds = true, tty = true, info_fd = true,
  json_status_fd = true, park = true,
}
local STREAMS = { "stdin", "stdout", "stderr" } -- at 0, 1, 2
local MAX_FDS = core.MAX_PASSED_FDS

-- What the command gets at a descriptor: a Lua file, a descriptor number of
-- ours, "null", and for the standard streams "pipe" (and for stderr "stdout").
local function stream(value, where, extra)
  if io.type(value) == "file" then return value end
  if io.type(value) == "closed file" then check.invalid("'%s' is a closed file", where) end
  if math.type(value) == "integer" and value >= 0 and value <= 0x7fffffff then return value end
  for _, word in ipairs(extra) do
    if value == word then return value end
  end
  check.invalid("'%s' must be a Lua file, a descriptor number, or one of %s; got %s", where,
    '"' .. table.concat(extra, '", "') .. '"', check.shown(value))
end

-- options' streams and fds as { [fd] = what }: every descriptor the command gets beyond the caller's 0, 1, 2.
local function passed_fds(options)
  local fds, n = {}, 0
  for i, name in ipairs(STREAMS) do
    if options[name] ~= nil then
      fds[i - 1] = stream(options[name], "options." .. name, name == "stderr" and { "null", "pipe", "stdout" }
        or { "null", "pipe" })
      n = n + 1
    end
  end
  for fd, value in pairs(check.type(options.fds or {}, "table", "options.fds")) do
    if math.type(fd) ~= "integer" or fd < 3 or fd > 1023 then
      check.invalid("'options.fds' keys must be descriptor numbers from 3 to 1023, got %s", check.shown(fd))
    end
    fds[fd] = stream(value, ("options.fds[%d]"):format(fd), { "null" })
    n = n + 1
  end
  if n > MAX_FDS then check.invalid("'options': at most %d descriptors can be passed, got %d", MAX_FDS, n) end
  return fds
end

-- The options of spawn or run, copied raw like a recipe (see check.plain).
local function spawn_options(options, caller)
  if options == nil then return {} end
  if type(options) ~= "table" then
    check.invalid("'options' (argument #3 of nsbox.%s) must be a table, got %s", caller, type(options))
  end
  options = check.plain(options, "options")
  check.known_keys(options, OPTIONS, "options")
  check.boolean(options, "foreground", "options.foreground")
  check.boolean(options, "tty", "options.tty")
  for _, key in ipairs { "info_fd", "json_status_fd", "park" } do
    if options[key] ~= nil then check.integer(options[key], "options." .. key, 0, 0x7fffffff, "a descriptor number") end
  end
  options.passed_fds = passed_fds(options)
  return options
end

-- For machines, as bubblewrap's --info-fd and --json-status-fd: the
-- sandbox's pid outside, and the ids of the namespaces it created.
local function tell_start(r, proc, options)
  if not (options.info_fd or options.json_status_fd) then return end
  local ids = proc.namespace_ids
  local fields = { ("\"child-pid\": %d"):format(proc.pid) }
  for _, name in ipairs(check.sorted_names(check.set_of(r.namespaces))) do
    local proc_name = require("nsbox.namespaces").PROC_NAME[name]
    if ids[proc_name] then fields[#fields + 1] = ("\"%s-namespace\": %d"):format(proc_name, ids[proc_name]) end
  end
  if options.info_fd then core.write_fd(options.info_fd, "{\n    " .. table.concat(fields, ",\n    ") .. "\n}\n") end
  if options.json_status_fd then core.write_fd(options.json_status_fd, "{ " .. table.concat(fields, ", ") .. " }\n") end
end

-- A pseudo-terminal for the command: handed to the caller (options.tty, as
-- process.tty), or relayed by wait (the recipe's tty); none otherwise.
local function terminal(r, options)
  if not (options.tty or r.tty) then return nil end
  for _, name in ipairs(STREAMS) do
    if options[name] ~= nil then
      check.invalid("'options.%s' cannot be used with a terminal: the command's %s is the terminal", name, name)
    end
  end
  return options.tty and "caller" or "relay"
end

local function read_sysctl(path)
  local f = io.open(path)
  if not f then return nil end
  local value = f:read("l")
  f:close()
  return value
end

-- Why the kernel refused a user namespace, and the switch that allows it.
local function user_namespace_blocker(euid)
  local max = read_sysctl("/proc/sys/user/max_user_namespaces")
  if max == "0" then
    return "user namespaces are disabled (user.max_user_namespaces is 0); "
      .. "enable them with: sysctl -w user.max_user_namespaces=15000"
  end
  if euid == 0 then return nil end
  if read_sysctl("/proc/sys/kernel/unprivileged_userns_clone") == "0" then
    return "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone is 0); "
      .. "enable them with: sysctl -w kernel.unprivileged_userns_clone=1"
  end
  if read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1" then
    return "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns is 1); "
      .. "allow them with: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, "
      .. "or an AppArmor profile for lua granting 'userns,'"
  end
  return nil
end

local function explain_clone_failure(c, message)
  if not recipe.has_namespace(c.recipe, "user") then return message end
  local _, _, euid = core.ids()
  local blocker = user_namespace_blocker(euid)
  return blocker and (message .. ": " .. blocker) or message
end

local function spawn(r, argv, options, caller)
  local c, message, errno = compile(r, caller)
  if not c then return nil, message, errno, "join" end
  argv = recipe.check_argv(argv or c.argv or { "/bin/sh" }, "argv")
  options = spawn_options(options, caller)
  if c.log then log("step %d: exec %s", #c.plan.steps + 1, argv[1]); log("Running [%s]", table.concat(argv, " ")) end
  local proc, step
  proc, message, errno, step = core.spawn(c.core_plan, argv, c.env, { foreground = options.foreground,
    fds = options.passed_fds, tty = terminal(c.recipe, options), json_status_fd = options.json_status_fd,
    namespace_ids = options.info_fd or options.json_status_fd, park = options.park })
  if proc then tell_start(c.recipe, proc, options) end
  if step == "clone" then message = explain_clone_failure(c, message) end
  if c.log then
    if proc then log("started pid %d", proc.pid) else log("failed: %s", message) end
  end
  return proc, message, errno, step
end

-- nsbox.spawn(recipe, argv [, options]) -> process | nil, message, errno, step
-- options.foreground: from a terminal's foreground job, hand the terminal
-- to the sandbox (as a shell does for a job) until it is reaped.
-- options.stdin, stdout, stderr: a Lua file, a descriptor number, "null", or
-- "pipe" (then process.stdin/stdout/stderr is our end, a Lua file); stderr
-- may be "stdout". options.fds = { [3] = file_or_fd, ... }: passed at those
-- numbers. The command gets no other descriptor beyond 0, 1 and 2.
function M.spawn(r, argv, options)
  return check.refusing("nsbox: ", spawn, r, argv, options, "spawn")
end

local function run(r, argv, options)
  local c, message, errno = compile(r, "run")
  if not c then return nil, message, errno, "join" end
  local proc, step
  proc, message, errno, step = spawn(c, argv, options, "run")
  if not proc then return nil, message, errno, step end
  local ok, how, code = proc:wait()
  if c.log then
    log("pid %d %s", proc.pid, how == "exit" and ("exited with status " .. code) or ("was killed by signal " .. code))
  end
  return ok, how, code
end

local function capture(r, argv, options)
  if options ~= nil and type(options) ~= "table" then spawn_options(options, "capture") end -- raises, naming it
  local piped = { stdout = "pipe" }
  for key, value in next, options or {} do
    if key == "stdout" then check.invalid("'options.stdout': nsbox.capture reads the command's stdout itself") end
    piped[key] = value
  end
  local proc, message, errno, step = spawn(r, argv, piped, "capture")
  if not proc then return nil, message, errno, step end
  local output = proc.stdout:read("a")
  proc.stdout:close()
  return output, proc:wait()
end

-- nsbox.capture(recipe, argv [, options]) -> output, ok, how, code: run, the
-- command's stdout read whole into output; nil, message, errno, step when the
-- sandbox could not be started.
function M.capture(r, argv, options)
  return check.refusing("nsbox: ", capture, r, argv, options)
end

-- nsbox.run(recipe, argv [, options]) -> true|nil, "exit"|"signal", code, like
-- os.execute; nil, message, errno, step when the sandbox could not be started.
function M.run(r, argv, options)
  return check.refusing("nsbox: ", run, r, argv, options)
end

-- nsbox.namespaces([pid]) and nsbox.list([type]): see nsbox.lsns. Loaded on
-- first use, so a recipe script does not pay for what it does not call.
function M.namespaces(pid) return require("nsbox.lsns").namespaces(pid) end
function M.list(type) return require("nsbox.lsns").list(type) end

-- nsbox.load(path_or_name [, args]) -> recipe, argv: a recipe file, or a
-- stock recipe by name (nsbox.command has the rules).
function M.load(what, args) return require("nsbox.command").load(what, args) end

M.cli = setmetatable({}, { __index = function(_, key) return require("nsbox.cli")[key] end })

return M
