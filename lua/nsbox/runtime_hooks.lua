-- nsbox.runtime_hooks: config.json's hooks (runtime.md's lifecycle), run by
-- nsbox.runtime with the container's state on their stdin.
--
--   prestart, createRuntime   at create, in the runtime's namespaces, while the container waits just
--                             before pivot_root (its namespaces and mounts made: rootfs's pause_before_root)
--   createContainer           then, in the container's namespaces, its old root still the root
--   startContainer            at start, in the container's namespaces (its root), before the exec
--   poststart                 at start, after the exec; a failure is only logged
--   poststop                  at delete, once the process is gone; a failure is only logged

local nsbox = require "nsbox"
local core = require "nsbox.core"

local M = {}

M.NAMES = { "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop" }
local KNOWN = {}
for _, name in ipairs(M.NAMES) do KNOWN[name] = true end

local function refuse(fmt, ...)
  error("config.json: " .. fmt:format(...), 0)
end

local function strings(value, where)
  if value == nil then return nil end
  if type(value) ~= "table" then refuse("'%s' must be an array of strings", where) end
  for i, s in ipairs(value) do
    if type(s) ~= "string" then refuse("'%s[%d]' must be a string", where, i - 1) end
  end
  return value
end

local function hook(h, where)
  if type(h) ~= "table" or type(h.path) ~= "string" or h.path:sub(1, 1) ~= "/" then
    refuse("'%s.path' must be an absolute path", where)
  end
  local timeout = h.timeout and math.tointeger(h.timeout)
  if h.timeout ~= nil and (not timeout or timeout < 1) then refuse("'%s.timeout' must be a positive integer", where) end
  return { path = h.path, args = strings(h.args, where .. ".args"), env = strings(h.env, where .. ".env"),
    timeout = timeout }
end

-- M.take(config) -> hooks: config.hooks checked and taken out of config (the translation knows none).
function M.take(config)
  local hooks, out = config.hooks, {}
  config.hooks = nil
  if hooks == nil then return out end
  if type(hooks) ~= "table" then refuse("'hooks' must be an object") end
  for name, list in pairs(hooks) do
    if not KNOWN[name] then refuse("unsupported hook 'hooks.%s'", tostring(name)) end
    if type(list) ~= "table" then refuse("'hooks.%s' must be an array", name) end
    out[name] = {}
    for i, h in ipairs(list) do out[name][i] = hook(h, ("hooks.%s[%d]"):format(name, i - 1)) end
  end
  return out
end

local function environment(list)
  local env = {}
  for _, entry in ipairs(list or {}) do
    local k, v = entry:match("^([^=]+)=(.*)$")
    if k then env[k] = v end
  end
  return env
end

-- One hook: nil, or why it failed.
local function run_one(h, state, join)
  local argv = { h.path }
  for i = 2, #(h.args or {}) do argv[i] = h.args[i] end
  local recipe = nsbox.recipe { clearenv = true, env = environment(h.env), argv0 = h.args and h.args[1] or nil,
    join = join }
  -- From a file, not a pipe: a hook that does not read its stdin must not stop us with SIGPIPE.
  local stdin = io.tmpfile()
  stdin:write(state)
  stdin:seek("set")
  local proc, message = nsbox.spawn(recipe, argv, { stdin = stdin })
  stdin:close()
  if not proc then return message end
  if h.timeout and not core.wait_gone(proc.pid, h.timeout * 1000) then
    proc:kill("KILL")
    proc:wait()
    return ("timed out after %d s"):format(h.timeout)
  end
  local ok, how, code = proc:wait()
  if not ok then return ("%s %d"):format(how == "exit" and "exited with status" or "killed by signal", code) end
end

-- M.run(hooks, name, state_json [, pid]) -> nil, or why the first failing hook failed;
-- with pid, the hooks run in the namespaces of that process.
function M.run(hooks, name, state, pid)
  for i, h in ipairs(hooks[name] or {}) do
    local why = run_one(h, state, pid)
    if why then return ("%s hook #%d (%s): %s"):format(name, i - 1, h.path, why) end
  end
end

return M
