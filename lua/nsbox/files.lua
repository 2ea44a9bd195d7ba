-- nsbox.files: reading the small files of /proc, /sys and /etc that the
-- parent consults. A file that cannot be read is nil: each caller knows
-- what its absence means (an older kernel, a missing controller, a process
-- that is gone).

local M = {}

-- The whole file, or nil.
function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

-- Whether path names a file we may open for reading.
function M.readable(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

-- The first line without its newline, or nil.
function M.first_line(path)
  local text = M.read(path)
  return text and text:match("^[^\n]*")
end

return M
