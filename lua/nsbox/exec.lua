-- nsbox.exec: the concern of what the child execs and how: argv and argv0,
-- the environment, the working directory, a session or terminal of its
-- own, and nsbox's own log of it all.

local core = require "nsbox.core"
local check = require "nsbox.check"

local invalid = check.invalid

local M = {}

local function check_env(env)
  check.type(env, "table", "env")
  for name, value in pairs(env) do
    local where = check.key_path("env", name)
    if type(name) ~= "string" or name == "" or name:find("[=%z]") then
      invalid("'%s': variable names must be non-empty strings without '=' or NUL", where)
    end
    if value ~= false then
      if type(value) ~= "string" then
        invalid("'%s' must be a string, or false to unset it; got %s", where, type(value))
      end
      check.text(value, where)
    end
  end
  return env
end

-- A command: the recipe's argv, or the one given to nsbox.spawn and nsbox.run.
function M.check_argv(argv, where)
  argv = check.string_list(check.plain(argv, where), where)
  if #argv == 0 then invalid("'%s' must not be empty", where) end
  return argv
end

function M.validate(t, r)
  if t.cwd ~= nil then r.cwd = check.absolute(t.cwd, "cwd") end
  if t.env ~= nil then r.env = check_env(t.env) end
  r.clearenv = check.boolean(t, "clearenv")
  r.new_session = check.boolean(t, "new_session")
  r.tty = check.boolean(t, "tty")
  if t.argv ~= nil then r.argv = M.check_argv(t.argv, "argv") end
  if t.argv0 ~= nil then r.argv0 = check.text(t.argv0, "argv0") end
  if t.log ~= nil and t.log ~= "debug" and t.log ~= "off" then
    invalid("'log' must be \"debug\" or \"off\", got %s", tostring(t.log))
  end
  r.log = t.log
end

-- The environment of the command: nil to inherit ours unchanged.
local function command_env(r)
  if not r.env and not r.clearenv then return nil end
  local vars, order = {}, {}
  if not r.clearenv then
    for _, entry in ipairs(core.environ()) do
      local name = entry:match("^([^=]*)=")
      if name and vars[name] == nil then order[#order + 1] = name end
      if name then vars[name] = entry end
    end
  end
  local names = check.sorted_names(r.env or {})
  for _, name in ipairs(names) do
    local value = r.env[name]
    if vars[name] == nil and value then order[#order + 1] = name end
    vars[name] = value and (name .. "=" .. value) or false
  end
  local env = {}
  for _, name in ipairs(order) do
    if vars[name] then env[#env + 1] = vars[name] end
  end
  return env
end

-- The command's environment, session and argv[0] for the exec; the change of
-- directory, once in the new root.
function M.compile(r, plan, add)
  plan.env, plan.new_session, plan.argv0 = command_env(r), r.new_session, r.argv0
  if r.cwd then add { op = "chdir", desc = "change directory to " .. r.cwd, target = r.cwd } end
end

return M
