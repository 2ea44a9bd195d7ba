-- nsbox.subcommands: `nsbox lsns` and `nsbox enter`, over nsbox.lsns and
-- the recipe key `join`. Each takes the words after its name and the
-- program name its usage message shows.

local nsbox = require "nsbox"
local lsns = require "nsbox.lsns"
local cli = require "nsbox.cli"

local M = {}

local function fail(message)
  io.stderr:write("nsbox: ", (tostring(message):gsub("^nsbox[%.%w]*: ", "")), "\n")
  os.exit(125)
end

-- ---- lsns ----

local COLUMNS = {
  { title = "NS", key = "inode", json = "ns", right = true },
  { title = "TYPE", key = "type", json = "type" },
  { title = "NPROCS", key = "nprocs", json = "nprocs", right = true },
  { title = "PID", key = "pid", json = "pid", right = true },
  { title = "USER", key = "user", json = "user" },
  { title = "COMMAND", key = "command", json = "command" },
}

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

local function print_table(list)
  local header, rows = {}, {}
  for i, column in ipairs(COLUMNS) do header[i] = column.title end
  for r, ns in ipairs(list) do
    rows[r] = {}
    for i, column in ipairs(COLUMNS) do rows[r][i] = cell(ns, column) end
  end
  local w = widths(rows)
  print(format_line(header, w))
  for _, row in ipairs(rows) do print(format_line(row, w)) end
end

-- The shape of `lsns -J`, keys in lsns's order:
-- { "namespaces": [ { "ns": 4026531835, "type": "cgroup", ... }, ... ] }
local function print_json(list)
  local encode = require("cjson").encode
  local entries = {}
  for i, ns in ipairs(list) do
    local fields = {}
    for j, column in ipairs(COLUMNS) do fields[j] = ("%s: %s"):format(encode(column.json), encode(ns[column.key])) end
    entries[i] = "    {" .. table.concat(fields, ", ") .. "}"
  end
  print('{\n  "namespaces": [\n' .. table.concat(entries, ",\n") .. "\n  ]\n}")
end

function M.lsns(args, program)
  local words, json = {}, false
  for _, word in ipairs(args) do
    if word == "-J" or word == "--json" then json = true else words[#words + 1] = word end
  end
  if #words > 1 or (words[1] and words[1]:sub(1, 1) == "-") then fail("usage: " .. program .. " [TYPE] [-J]") end
  local ok, list = pcall(lsns.list, words[1])
  if not ok then fail(list) end
  if json then print_json(list) else print_table(list) end
end

-- ---- enter ----

-- Whether pid is in another user namespace than ours.
local function other_user_namespace(pid)
  local theirs, mine = lsns.namespaces(pid), lsns.namespaces()
  return theirs and theirs.user and mine.user and theirs.user.inode ~= mine.user.inode
end

-- Like nsenter -a: every namespace of PID that differs from ours; in its
-- user namespace, as uid and gid 0 there (what nsenter does) unless
-- --preserve-credentials keeps the caller's.
function M.enter(args, program)
  local preserve = args[1] == "--preserve-credentials"
  if preserve then args = table.move(args, 2, #args, 1, {}) end
  cli.main(function()
    local pid = math.tointeger(tonumber(args[1]))
    if not pid or pid < 1 then error("usage: " .. program .. " [--preserve-credentials] PID [CMD [ARG...]]", 0) end
    local argv = #args > 1 and table.move(args, 2, #args, 1, {}) or nil
    local recipe = { join = pid }
    if not preserve and other_user_namespace(pid) then recipe.user = { uid = 0, gid = 0 } end
    return nsbox.recipe(recipe), argv
  end, args)
end

-- ---- net-gc ----

function M.net_gc(args, program)
  if #args > 0 then fail("usage: " .. program) end
  local ok, message = require("nsbox.network").gc(function(text) print("removed " .. text) end)
  if not ok then fail(message) end
end

return M
