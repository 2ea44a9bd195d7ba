-- nsbox.lsns: which namespaces a process is in, and every namespace that
-- some process is in, the way util-linux lsns(8) lists them.
--
--   local lsns = require "nsbox.lsns"
--   print(lsns.namespaces().uts.id)           --> uts:[4026531838]
--   for _, ns in ipairs(lsns.list("net")) do print(ns.inode, ns.nprocs, ns.command) end

local core = require "nsbox.core"

local M = {}

-- The types lsns lists. pid_for_children and time_for_children are left
-- out: they name where a process's future children go, and lsns counts a
-- namespace only once some process is in it.
M.TYPES = { "cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts" }

local ALIASES = { mount = "mnt" }

local KNOWN = {}
for _, t in ipairs(M.TYPES) do KNOWN[t] = true end

local PID_MAX = 0x7fffffff

local function check_pid(pid, fname)
  if pid == nil then return nil end
  if math.type(pid) ~= "integer" or pid < 1 or pid > PID_MAX then
    error(("bad argument #1 to '%s' (pid must be an integer from 1 to %d, got %s)")
      :format(fname, PID_MAX, type(pid) == "number" and tostring(pid) or type(pid)), 3)
  end
  return pid
end

-- nsbox.namespaces([pid]) -> { uts = {type=, inode=, dev=, id=}, ... } for
-- every entry of /proc/PID/ns (default: the caller); nil, message, errno when
-- the process is gone (ESRCH) or its namespaces may not be read.
local ENOENT = 2

function M.namespaces(pid)
  pid = check_pid(pid, "namespaces")
  local types, message, errno = core.nstypes(pid)
  if not types then return nil, "namespaces of " .. message, errno end
  local ids = {}
  for _, t in ipairs(types) do
    local inode, dev, id = core.nsid(pid, t)
    -- pid_for_children of a process that unshared a PID namespace has no
    -- target until its first child exists: that entry is left out
    if inode then
      ids[t] = { type = t, inode = inode, dev = dev, id = id }
    elseif id ~= ENOENT then
      return nil, "namespaces of " .. dev, id
    end
  end
  return ids
end

local function known_list()
  local words = {}
  for i, t in ipairs(M.TYPES) do words[i] = t == "mnt" and "mnt (or mount)" or t end
  return table.concat(words, ", ")
end

local function check_type(t)
  if t == nil then return M.TYPES end
  if type(t) ~= "string" then
    error(("bad argument #1 to 'list' (namespace type expected, got %s)"):format(type(t)), 3)
  end
  local name = ALIASES[t] or t
  if not KNOWN[name] then
    error(("nsbox.list: unknown namespace type '%s'; known: %s"):format(t, known_list()), 3)
  end
  return { name }
end

-- Count proc in the namespace of type t it is in; the lowest pid speaks for it.
local function add(found, t, proc)
  local inode, _, id = core.nsid(proc.pid, t)
  if not inode then return end -- gone, a zombie, or not ours to read: lsns skips it too
  local ns = found[inode]
  if not ns then
    ns = { type = t, inode = inode, id = id, nprocs = 0, pid = proc.pid, uid = proc.uid }
    found[inode] = ns
  end
  ns.nprocs = ns.nprocs + 1
  if proc.pid < ns.pid then ns.pid, ns.uid = proc.pid, proc.uid end
end

local slurp = require("nsbox.files").read

-- uid -> name from /etc/passwd; the first line for a uid wins, as with getpwuid.
local function user_names()
  local names = {}
  for line in (slurp("/etc/passwd") or ""):gmatch("[^\n]+") do
    local name, uid = line:match("^([^:]*):[^:]*:(%d+):")
    uid = tonumber(uid)
    if uid and not names[uid] then names[uid] = name end
  end
  return names
end

-- The arguments joined by spaces; the bare name, as lsns prints it, for a
-- process without any (a kernel thread).
local function command(pid)
  local args = (slurp(("/proc/%d/cmdline"):format(pid)) or ""):gsub("%z$", ""):gsub("%z", " ")
  if args ~= "" then return args end
  return ((slurp(("/proc/%d/comm"):format(pid)) or ""):gsub("\n$", ""))
end

-- nsbox.list([type]) -> the namespaces processes are in, by inode like lsns:
-- { {type=, inode=, id=, nprocs=, pid=, uid=, user=, command=}, ... }
function M.list(t)
  local types = check_type(t)
  local found = {}
  for _, proc in ipairs(core.procs()) do
    for _, name in ipairs(types) do add(found, name, proc) end
  end
  local names, list = user_names(), {}
  for _, ns in pairs(found) do
    ns.user = names[ns.uid] or tostring(ns.uid)
    ns.command = command(ns.pid)
    list[#list + 1] = ns
  end
  table.sort(list, function(a, b) return a.inode < b.inode end)
  return list
end

return M
