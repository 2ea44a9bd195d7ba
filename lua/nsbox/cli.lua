-- nsbox.cli: what every recipe script shares. The script exits like
-- `docker run`: the command's status; 128+N when it died of signal N; 125 when
-- nsbox failed; 126 when the command cannot be executed; 127 when not found.

local nsbox = require "nsbox"

local M = {}

local ENOENT = 2

-- The message of a refusal without the Lua position of the line that made
-- the refused call (a recipe script's, when its builder called nsbox.recipe):
-- the user of a script gave a key or an argument, not that line.
local function fail(code, message)
  message = tostring(message):gsub("^[^\n]-:%d+: (nsbox)", "%1"):gsub("^nsbox: ", "")
  io.stderr:write("nsbox: ", message, "\n")
  os.exit(code)
end

-- The script's arguments as a command, or nil for the recipe's default.
local function command(args)
  if not args or #args == 0 then return nil end
  return table.move(args, 1, #args, 1, {})
end

-- cli.main(recipe_or_builder [, args]): run the command in args (default:
-- the script's own arguments) and exit with its status. A builder is
-- called with args and returns recipe, argv (and options for nsbox.run,
-- from the command line's flags); an error it raises is reported as an
-- nsbox failure.
function M.main(what, args)
  args = args or arg
  local ok, recipe, argv, options = pcall(function()
    if type(what) == "function" then return what(args) end
    return what, command(args)
  end)
  if not ok then fail(125, recipe) end
  options = options or {}
  options.foreground = true
  local status, how, code, step, usage
  ok, status, how, code, step, usage = pcall(nsbox.run, recipe, argv, options)
  if not ok then fail(125, status) end
  local why = how == "signal" and require("nsbox.cgroups").explain(step, usage)
  if why then io.stderr:write("nsbox: ", why, "\n") end
  -- Not closing the state: freeing every object would touch every page of the
  -- heap just before the process ends anyway (exit still flushes stdio).
  if how == "exit" then os.exit(code) end
  if how == "signal" then os.exit(128 + code) end
  if step == "exec" then fail(code == ENOENT and 127 or 126, how) end
  fail(125, how)
end

return M
