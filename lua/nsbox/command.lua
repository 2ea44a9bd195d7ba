-- nsbox.command: the grammar of the `nsbox` command. The command's launcher
-- (nsbox.launcher) calls main; a recipe file run directly (`lua
-- recipes/uts.lua CMD...`) calls script from its first line, so both load
-- and run recipes the same way.
--
--   nsbox RECIPE [FLAG...] [CMD [ARG...]]   RECIPE: a stock recipe's name, or a file's path
--   nsbox COMMAND [ARG...]                  help, lsns, enter
--   nsbox [--root DIR ...] VERB [ARG...]    runc's create, start, state, ... (nsbox.runtime)
--   nsbox FLAG... [CMD [ARG...]]            bubblewrap style: the first word not an option is CMD
--
-- The first word decides: it starts with "-", or it is a command, or a
-- recipe. Command names and stock recipe names are disjoint (a spec checks
-- it), and a word that is neither is an error naming it.

-- nsbox and nsbox.cli are loaded where used: the runtime's verbs, which
-- engines call several times a container, do without them.

local M = {}

-- Handed to a recipe file's chunk as its only argument: "you are being
-- loaded, return your recipe". Run directly, a file gets strings instead.
M.LOADING = setmetatable({}, { __name = "nsbox.loading" })

local function fail(message)
  io.stderr:write("nsbox: ", (tostring(message):gsub("^nsbox: ", "")), "\n")
  os.exit(125)
end

local function rest(args, from)
  return table.move(args, from, #args, 1, {})
end

-- The stock recipes: the recipes directory next to this module's source
-- (its path is require's second argument, also when its precompiled copy
-- runs), that is lua/nsbox/recipes in a checkout (a link to recipes/) and
-- the installed modules nsbox.recipes.NAME in a rock. A precompiled copy
-- with no source on the path gets ":preload:": then there are none, and
-- never ./recipes, whatever the current directory holds.
local STOCK_DIR = (select(2, ...) or ""):match("^(.*)/[^/]*$")
STOCK_DIR = STOCK_DIR and STOCK_DIR .. "/recipes"
local STOCK_HINT = STOCK_DIR and "nsbox --list shows them"
  or "no stock recipes: nsbox's modules were not loaded from files"

local readable = require("nsbox.files").readable

-- A word naming a file rather than a stock recipe: it has a slash or ends in .lua.
local function is_path(word)
  return word:find("/") ~= nil or word:sub(-4) == ".lua"
end

local function stock_path(name)
  if not (STOCK_DIR and name:match("^[%w_-]+$")) then return nil end
  local path = STOCK_DIR .. "/" .. name .. ".lua"
  return readable(path) and path or nil
end

-- A recipe file's one-line description: its first line, a comment.
local function description(path)
  local f = io.open(path)
  local line = f and f:read("l") or ""
  if f then f:close() end
  return line:match("^%-%-%s*(.-)%s*$") or ""
end

-- ---- the commands ----

-- runc's verbs (nsbox.runtime, which refuses those it does not do): no recipe may take these names.
M.RESERVED = {
  "checkpoint", "create", "delete", "events", "exec", "features", "kill", "list", "pause", "ps", "restore", "resume",
  "run", "spec", "start", "state", "update",
}

M.COMMANDS = {} -- name -> { run = function(args, program), usage = "ARGS", help = "..." }

M.COMMANDS.help = {
  usage = "[KEY]", help = "this help, or the help of one flag or recipe key",
  run = function(args) require("nsbox.help").show(args[1]) end,
}
M.COMMANDS.lsns = {
  usage = "[TYPE] [-J]", help = "list the namespaces processes are in, like lsns -l (-J: JSON like lsns -J)",
  run = function(args, program) require("nsbox.subcommands").lsns(args, program) end,
}
M.COMMANDS.enter = {
  usage = "[--preserve-credentials] PID [CMD [ARG...]]",
  help = "run CMD in the namespaces of PID like nsenter -a: as uid 0 in its user namespace, unless told",
  run = function(args, program) require("nsbox.subcommands").enter(args, program) end,
}

-- Not `nsbox net gc`: `nsbox net` is the stock recipe running a command in a new network namespace.
M.COMMANDS["net-gc"] = {
  usage = "", help = "remove network leftovers of sandboxes that are gone (a crash): leases, bridges, NAT tables",
  run = function(args, program) require("nsbox.subcommands").net_gc(args, program) end,
}

local function is_command(word)
  return M.COMMANDS[word] ~= nil
end

local RESERVED_SET = {}
for _, name in ipairs(M.RESERVED) do RESERVED_SET[name] = true end

-- ---- recipes ----

-- nsbox.stock() -> { {name=, path=, description=}, ... } sorted by name:
-- the recipes `nsbox NAME` runs. Files named after a command are its
-- script form (recipes/lsns.lua is `nsbox lsns`), not recipes.
function M.stock()
  local list = {}
  if not STOCK_DIR then return list end
  local pipe = io.popen("ls -1 -- '" .. STOCK_DIR:gsub("'", "'\\''") .. "' 2>/dev/null")
  for file in pipe:lines() do
    local name = file:match("^([%w_-]+)%.lua$")
    if name and not is_command(name) then
      local path = STOCK_DIR .. "/" .. file
      list[#list + 1] = { name = name, path = path, description = description(path) }
    end
  end
  pipe:close()
  table.sort(list, function(a, b) return a.name < b.name end)
  return list
end

local function resolve(what)
  if type(what) ~= "string" then error(("recipe must be a path or a name, got %s"):format(type(what)), 0) end
  if is_path(what) then return what end
  return stock_path(what) or error(("unknown recipe '%s' (%s)"):format(what, STOCK_HINT), 0)
end

-- What a recipe file returns: a recipe (table), a function(args, program)
-- -> recipe, argv, or a command's name for a command's script form.
local function evaluate(path)
  local chunk, message = loadfile(path, "t")
  if not chunk then error(message, 0) end
  local value = chunk(M.LOADING)
  local kind = type(value)
  if kind == "table" or kind == "function" or (kind == "string" and is_command(value)) then return value end
  error(("%s: a recipe file returns a recipe table or a function, got %s"):format(path, kind), 0)
end

-- A recipe value and the words after it -> recipe, argv (nil: the recipe's
-- own). A refusal names the file: called through pcall, nsbox.recipe's
-- message carries no position of ours.
local function instantiate(path, value, args, program, fragments)
  local recipe, argv = value, (#args > 0 and args or nil)
  if type(value) == "function" then recipe, argv = value(args, program) end
  local ok, result = pcall(require("nsbox").recipe, recipe, table.unpack(fragments or {}))
  if not ok then error(path .. ": " .. tostring(result), 0) end
  return result, argv
end

-- nsbox.load(path_or_name [, args]) -> recipe, argv: a recipe file by path
-- or a stock recipe by name; args are the words that follow it (a
-- function recipe takes them, a table recipe runs them as its command).
function M.load(what, args)
  local path = resolve(what)
  local value = evaluate(path)
  if type(value) == "string" then error(("%s is the command 'nsbox %s', not a recipe"):format(path, value), 0) end
  return instantiate(path, value, args or {}, "nsbox " .. what)
end

-- Run what a recipe file returned with the words after it (flags first
-- when parse_flags), and exit like cli.main.
local function run_value(path, value, args, program, parse_flags)
  if type(value) == "string" then return M.run_command(value, args, program) end
  require("nsbox.cli").main(function()
    local fragments, from, options = {}, 1, nil
    -- Flag parsing (nsbox.flags) loaded only when a flag follows the recipe.
    if parse_flags and (args[1] or ""):sub(1, 1) == "-" then
      fragments, from, options = require("nsbox.flags").parse(args, 1)
    end
    local recipe, argv = instantiate(path, value, rest(args, from), program, fragments)
    return recipe, argv, options
  end, args)
end

local function run_file(path, args, program, parse_flags)
  local ok, value = pcall(evaluate, path)
  if not ok then fail(value) end
  run_value(path, value, args, program, parse_flags)
end

-- ---- entry points ----

function M.run_command(name, args, program)
  M.COMMANDS[name].run(args, program)
  os.exit(0)
end

-- bin/nsbox's arguments (arg[1..n]).
function M.main(args)
  local first = args[1]
  if first == nil then fail("no recipe given (nsbox --help shows the usage, nsbox --list the recipes)") end
  -- runc's global flags before a verb make a runtime call too (engines pass --root, --log first).
  if RESERVED_SET[first] or (first:sub(1, 2) == "--" and require("nsbox.runtime").wants(args)) then
    return require("nsbox.runtime").main(args)
  end
  if first:sub(1, 1) == "-" then return require("nsbox.flags").main(args) end
  if is_command(first) then return M.run_command(first, rest(args, 2), "nsbox " .. first) end
  local path = is_path(first) and first or stock_path(first)
  if not path then
    local hint = STOCK_DIR and "nsbox --help shows the commands, nsbox --list the recipes" or STOCK_HINT
    fail(("'%s' is neither a command nor a recipe (%s)"):format(first, hint))
  end
  run_file(path, rest(args, 2), "nsbox " .. first, true)
end

-- A recipe file run directly: `lua PATH ARG...`, the arguments as they are
-- (no flags), exactly as before there was a launcher.
function M.script(path, args)
  run_file(path, args, "lua " .. path, false)
end

return M
