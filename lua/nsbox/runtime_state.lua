-- nsbox.runtime_state: the OCI runtime's state on disk, one directory per
-- container under the root (runc's --root):
--
--   ROOT/ID/state.json   what create learned: pid, its start time, bundle, ...;
--                        also the lock: every command on ID holds it throughout
--   ROOT/ID/exec.sock    while the container is parked: where start releases it
--
-- The status is not stored but read from the process each time, as runc
-- does: a process that is gone or a zombie is stopped, one still waiting on
-- exec.sock is created, one whose cgroups are frozen paused, any other running. The pid is checked against its
-- start time, so a reused pid is not taken for the container.

local core = require "nsbox.core"
local cjson = require "cjson"

local M = {}

local Container = {}
Container.__index = Container

-- runc's rule for ids: they name a directory.
local function check_id(id)
  if not id or id == "" then error("container id cannot be empty", 0) end
  if not id:match("^[%w_+%-%.]+$") or id == "." or id == ".." then
    error(("invalid container id format: %s"):format(id), 0)
  end
  return id
end

-- runc's default: /run/nsbox for root, $XDG_RUNTIME_DIR/nsbox otherwise.
function M.default_root()
  local _, _, euid = core.ids()
  if euid == 0 then return "/run/nsbox" end
  local runtime_dir = os.getenv("XDG_RUNTIME_DIR")
  if not runtime_dir or runtime_dir == "" then
    error("XDG_RUNTIME_DIR is not set: give the state directory with --root DIR", 0)
  end
  return runtime_dir .. "/nsbox"
end

-- A --root given relative to where we stand, as an absolute path (the state names the bundle's too).
function M.absolute(path)
  if path:sub(1, 1) == "/" then return path end
  return assert(core.realpath(".")) .. "/" .. path
end

local function mkdir_p(path)
  local so_far = ""
  for part in path:gmatch("[^/]+") do
    so_far = so_far .. "/" .. part
    local ok, message, errno = core.mkdir(so_far, 448) -- 0700
    if not ok and errno ~= 17 then error(("state directory %s: %s"):format(path, message), 0) end -- EEXIST
  end
end

local function state_path(root, id)
  return ("%s/%s/state.json"):format(root, id)
end

-- M.new(root, id, fields) -> container, locked: its directory made; an id in use is refused.
function M.new(root, id, fields)
  check_id(id)
  mkdir_p(root)
  local dir = root .. "/" .. id
  local ok, _, errno = core.mkdir(dir, 448)
  if not ok then
    error(errno == 17 and ("container with id exists: " .. id) or ("state directory " .. dir .. ": " .. _), 0)
  end
  local fd, message = core.lock(state_path(root, id), "new")
  if not fd then
    os.remove(dir)
    error(message, 0)
  end
  local c = setmetatable({ fd = fd, root = root, dir = dir, fields = fields }, Container)
  fields.id = id
  c:save()
  return c
end

-- M.open(root, id) -> container, locked | nil, "container does not exist".
function M.open(root, id)
  check_id(id)
  local fd = core.lock(state_path(root, id))
  if not fd then return nil, "container does not exist" end
  -- A delete that held the lock before us left the file empty.
  local text = core.read_all(fd)
  local ok, fields = pcall(cjson.decode, text or "")
  if not ok or type(fields) ~= "table" then
    core.close(fd)
    return nil, "container does not exist"
  end
  return setmetatable({ fd = fd, root = root, dir = root .. "/" .. id, fields = fields }, Container)
end

-- The ids under root, sorted.
function M.ids(root)
  local ids = {}
  local pipe = io.popen("ls -1 -- '" .. root:gsub("'", "'\\''") .. "' 2>/dev/null")
  for name in pipe:lines() do ids[#ids + 1] = name end
  pipe:close()
  table.sort(ids)
  return ids
end

function Container:save()
  assert(core.replace_all(self.fd, cjson.encode(self.fields)))
end

function Container:unlock()
  if self.fd then core.close(self.fd) end
  self.fd = nil
end

-- Everything create made on disk, the lock last: a command waiting for it then finds nothing.
function Container:remove()
  os.remove(self.dir .. "/exec.sock")
  core.replace_all(self.fd, "")
  os.remove(self.dir .. "/state.json")
  os.remove(self.dir)
  self:unlock()
end

function Container:socket()
  return self.dir .. "/exec.sock"
end

-- The state letter, start time and parent's pid of pid (fields 3, 22 and 4 of /proc/PID/stat), or nil when gone.
function M.process(pid)
  local f = pid and pid > 0 and io.open(("/proc/%d/stat"):format(pid))
  if not f then return nil end
  local stat = f:read("a")
  f:close()
  local rest = stat:match("^.*%) (.*)$") or ""
  local fields = {}
  for word in rest:gmatch("%S+") do fields[#fields + 1] = word end
  return fields[1], fields[20], tonumber(fields[2])
end

-- A child of pid's (its only one, for the relays asked about), or nil: /proc/PID/task/*/children is not in every
-- kernel (CONFIG_PROC_CHILDREN), so every process's parent is read.
function M.child_of(pid)
  for _, p in ipairs(core.procs()) do
    if select(3, M.process(p.pid)) == pid then return p.pid end
  end
  return nil
end

-- Whether the container's process is still the one create made, and alive.
function Container:alive()
  local letter, start = M.process(self.fields.pid)
  return letter ~= nil and letter ~= "Z" and letter ~= "X" and start == self.fields.start_time
end

function Container:status()
  if not self.fields.pid then return "creating" end
  if not self:alive() then return "stopped" end
  if core.realpath(self:socket()) then return "created" end
  local cgroup = self.fields.cgroup
  return cgroup and require("nsbox.cgroups").adopt(cgroup):frozen() and "paused" or "running"
end

-- JSON text as runc writes it: cjson's "\/" is plain "/" there.
local function encode(value)
  return (cjson.encode(value):gsub("\\/", "/"))
end
M.encode = encode

-- The OCI state (runtime.md), with runc's extra fields, in runc's order.
-- status: what the state says, when the hooks of a lifecycle step are told another than the process shows.
function Container:state_json(status)
  local f = self.fields
  status = status or self:status()
  local lines = {
    ("  \"ociVersion\": %s"):format(encode(f.oci_version or "1.0.2")),
    ("  \"id\": %s"):format(encode(f.id)),
    ("  \"pid\": %d"):format(status == "stopped" and 0 or f.pid or 0),
    ("  \"status\": %s"):format(encode(status)),
    ("  \"bundle\": %s"):format(encode(f.bundle)),
    ("  \"rootfs\": %s"):format(encode(f.rootfs or "")),
    ("  \"created\": %s"):format(encode(f.created)),
  }
  if f.annotations and next(f.annotations) then
    lines[#lines + 1] = ("  \"annotations\": %s"):format(encode(f.annotations))
  end
  lines[#lines + 1] = ("  \"owner\": %s"):format(encode(f.owner or ""))
  return "{\n" .. table.concat(lines, ",\n") .. "\n}"
end

return M
