-- nsbox: run a process in new Linux namespaces, described by a Lua recipe.
--
--   local nsbox = require "nsbox"
--   local r = nsbox.recipe { namespaces = { "uts" }, hostname = "box" }
--   print(nsbox.run(r, { "hostname" }))   --> true  exit  0

local core = require "nsbox.core"
local check = require "nsbox.check"
local recipe = require "nsbox.recipe"
local exec = require "nsbox.exec"
local spawn_options = require "nsbox.options"
local ns = require "nsbox.ns"

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
    -- plan: the Lua table recipe.compile made (settings, steps); arena: the
    -- same copied into C by core.plan (csrc/plan.c), what core.spawn runs.
    recipe = r, plan = plan, arena = core.plan(plan), env = plan.env,
    argv = r.argv, log = logging(r),
  }, Compiled)
  if c.log then log_plan(r, plan) end
  return c
end

-- nsbox.compile(recipe) -> compiled: validated and copied into C once,
-- ready to be spawned any number of times; nil, message, errno when a process
-- the recipe joins is gone.
function M.compile(r)
  return check.refusing("nsbox: ", compile, r, "compile")
end

local function explain_clone_failure(c, message)
  if not check.set_of(c.recipe.namespaces).user then return message end
  local _, _, euid = core.ids()
  local blocker = ns.user_namespace_blocker(euid)
  return blocker and (message .. ": " .. blocker) or message
end

local function spawn(r, argv, options, caller)
  local c, message, errno = compile(r, caller)
  if not c then return nil, message, errno, "join" end
  argv = exec.check_argv(argv or c.argv or { "/bin/sh" }, "argv")
  options = spawn_options.check(options, caller)
  if c.log then log("step %d: exec %s", #c.plan.steps + 1, argv[1]); log("Running [%s]", table.concat(argv, " ")) end
  local proc, step, cgroup
  if c.recipe.cgroup then
    cgroup, message, errno = require("nsbox.cgroups").create(c.recipe)
    if not cgroup then return nil, message, errno, "cgroup" end
  end
  proc, message, errno, step = core.spawn(c.arena, argv, c.env, spawn_options.for_core(c.recipe, options, cgroup))
  if proc then spawn_options.tell_start(c.recipe, proc, options) elseif cgroup then cgroup:remove() end
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
  local ok, how, code, reason = proc:wait()
  if c.log then
    log("pid %d %s", proc.pid, how == "exit" and ("exited with status " .. code) or ("was killed by signal " .. code))
  end
  if c.recipe.cgroup then return ok, how, code, reason, proc:stats() end
  return ok, how, code
end

local function capture(r, argv, options)
  if options ~= nil and type(options) ~= "table" then spawn_options.check(options, "capture") end -- raises, naming it
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
-- os.execute, then with a cgroup the reason for the end ("oom", or nil) and
-- its usage (process:stats()); nil, message, errno, step when the sandbox
-- could not be started.
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

-- Modules of the public face loaded on first use, as the fields
-- nsbox.seccomp (profiles for the seccomp key: nsbox.seccomp.default,
-- nsbox.seccomp.deny{...}) and nsbox.cli (what recipe scripts share).
local ON_FIRST_USE = { seccomp = "nsbox.seccomp", cli = "nsbox.cli" }
setmetatable(M, {
  __index = function(_, key)
    local name = ON_FIRST_USE[key]
    if not name then return nil end
    local module = require(name)
    rawset(M, key, module)
    return module
  end,
})

return M
