-- The namespaces processes are in, printed like `lsns -l` (no tree).
--   lua recipes/lsns.lua [TYPE]      TYPE: cgroup, ipc, mnt (or mount), net, pid, time, user, uts
local tree = (arg[0]:match("^(.*)/") or ".") .. "/.."  -- run from a checkout, or installed
package.path = tree .. "/lua/?.lua;" .. tree .. "/lua/?/init.lua;" .. package.path
package.cpath = tree .. "/build/?.so;" .. package.cpath
local lsns = require "nsbox.lsns"

local COLUMNS = {
  { title = "NS", key = "inode", right = true },
  { title = "TYPE", key = "type" },
  { title = "NPROCS", key = "nprocs", right = true },
  { title = "PID", key = "pid", right = true },
  { title = "USER", key = "user" },
  { title = "COMMAND", key = "command" },
}

local function fail(message)
  io.stderr:write("nsbox: ", (tostring(message):gsub("^nsbox%.list: ", "")), "\n")
  os.exit(125)
end

-- Control characters would break the table's lines; lsns shows them as \xHH too.
local function cell(ns, column)
  return (tostring(ns[column.key]):gsub("%c", function(c) return ("\\x%02x"):format(c:byte()) end))
end

-- Columns line up by characters, not bytes, for UTF-8 user and command names.
local function width(s)
  return utf8.len(s) or #s
end

local function widths(rows)
  local w = {}
  for i, column in ipairs(COLUMNS) do
    w[i] = width(column.title)
    for _, row in ipairs(rows) do w[i] = math.max(w[i], width(row[i])) end
  end
  return w
end

local function format_line(cells, w)
  local out = {}
  for i, column in ipairs(COLUMNS) do
    local pad = (" "):rep(w[i] - width(cells[i]))
    if i == #COLUMNS then out[i] = cells[i]
    elseif column.right then out[i] = pad .. cells[i]
    else out[i] = cells[i] .. pad end
  end
  return table.concat(out, " ")
end

if #arg > 1 then fail("usage: lua recipes/lsns.lua [TYPE]") end
local ok, list = pcall(lsns.list, arg[1])
if not ok then fail(list) end

local header, rows = {}, {}
for i, column in ipairs(COLUMNS) do header[i] = column.title end
for r, ns in ipairs(list) do
  rows[r] = {}
  for i, column in ipairs(COLUMNS) do rows[r][i] = cell(ns, column) end
end
local w = widths(rows)
print(format_line(header, w))
for _, row in ipairs(rows) do print(format_line(row, w)) end
