-- nsbox.options: the options of nsbox.spawn, run and capture: what the
-- command gets at its descriptors (standard streams, more descriptors, a
-- terminal), the terminal's handover, and the status written for machines
-- (info_fd, json_status_fd); park, the OCI runtime's listening socket where
-- the command waits before exec (csrc/runtime.c); paused(pid), called while
-- the child waits at the recipe's pause_before_root. Checked here, carried out by csrc/streams.c,
-- csrc/relay.c and csrc/spawn.c.

local core = require "nsbox.core"
local check = require "nsbox.check"
local ns = require "nsbox.ns"

local M = {}

local OPTIONS = {
  foreground = true, stdin = true, stdout = true, stderr = true, fds = true, tty = true, info_fd = true,
  json_status_fd = true, park = true, paused = true,
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
function M.check(options, caller)
  if options == nil then return {} end
  if type(options) ~= "table" then
    check.invalid("'options' (argument #3 of nsbox.%s) must be a table, got %s", caller, type(options))
  end
  options = check.plain(options, "options")
  check.known_keys(options, OPTIONS, "options")
  check.boolean(options, "foreground", "options.foreground")
  check.boolean(options, "tty", "options.tty")
  if options.paused ~= nil then check.type(options.paused, "function", "options.paused") end
  for _, key in ipairs { "info_fd", "json_status_fd", "park" } do
    if options[key] ~= nil then check.integer(options[key], "options." .. key, 0, 0x7fffffff, "a descriptor number") end
  end
  options.passed_fds = passed_fds(options)
  return options
end

-- For machines, as bubblewrap's --info-fd and --json-status-fd: the
-- sandbox's pid outside, and the ids of the namespaces it created.
function M.tell_start(r, proc, options)
  if not (options.info_fd or options.json_status_fd) then return end
  local ids = proc.namespace_ids
  local fields = { ("\"child-pid\": %d"):format(proc.pid) }
  for _, name in ipairs(check.sorted_names(check.set_of(r.namespaces))) do
    local proc_name = ns.PROC_NAME[name]
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

-- What core.spawn takes of the checked options, for the recipe r.
function M.for_core(r, options, cgroup)
  local before_release, after_exit -- the network, set up while the child waits
  if r.network then before_release, after_exit = require("nsbox.network").attach(r) end
  return { foreground = options.foreground, fds = options.passed_fds, tty = terminal(r, options),
    json_status_fd = options.json_status_fd, namespace_ids = options.info_fd or options.json_status_fd,
    park = options.park, cgroup = cgroup, before_release = before_release, after_exit = after_exit,
    paused = options.paused }
end

return M
