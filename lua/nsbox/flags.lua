-- nsbox.flags: the command line's options, from one table. Each entry
-- names a flag, its arguments, the recipe key it sets and its help; the
-- parser, `nsbox --help`, `nsbox help KEY`, the man page and the README's
-- flag table are all made from it (see nsbox.help).

local M = {}

local function invalid(fmt, ...)
  error(("nsbox: " .. fmt):format(...), 0)
end

-- ---- what the command line's words become ----

local function integer(word, flag)
  local n = math.tointeger(tonumber(word))
  if not n or n < 0 then invalid("%s: expected a number, got '%s'", flag, word) end
  return n
end

-- ---- the table ----
-- name: the flag; args: the words it takes; key: the recipe key it sets
-- (nil for those that act on the command line itself); help: one line;
-- set(fragment, state, word...): what it does to the recipe fragment;
-- action(): for the flags that answer instead of running anything.

M.FLAGS = {
  { name = "--help", help = "show this help and exit", action = function() require("nsbox.help").show() end },
  { name = "--version", help = "show nsbox's version and exit",
    action = function() print("nsbox " .. require("nsbox").VERSION) end },
  { name = "--list", help = "list the stock recipes with their descriptions and exit",
    action = function() require("nsbox.help").list() end },
}

local BY_NAME = {}
for _, flag in ipairs(M.FLAGS) do BY_NAME[flag.name] = flag end
M.BY_NAME = BY_NAME

local function flag_names()
  local names = {}
  for i, flag in ipairs(M.FLAGS) do names[i] = flag.name end
  return names
end

-- parse(args, i) -> fragments, next: the recipe fragments the flags from
-- args[i] on make, and the index of the first word after them (CMD).
-- "--" ends the flags.
function M.parse(args, i)
  local fragment, state = {}, {}
  while args[i] and args[i]:sub(1, 1) == "-" do
    local word = args[i]
    if word == "--" then i = i + 1; break end
    local flag = BY_NAME[word]
    if not flag then
      invalid("unknown option '%s'%s (nsbox --help lists them)", word,
        require("nsbox.check").suggestion(word, flag_names()))
    end
    if flag.action then invalid("'%s' comes before a recipe or command, not after", word) end
    local n = #(flag.args or {})
    local words = table.move(args, i + 1, i + n, 1, {})
    if #words < n then invalid("%s takes %s", word, table.concat(flag.args, " ")) end
    flag.set(fragment, state, table.unpack(words, 1, n))
    i = i + 1 + n
  end
  return { fragment }, i
end

-- `nsbox -FLAG... [CMD [ARG...]]`: a recipe from the flags alone, or one of
-- the flags that answer and exit.
function M.main(args)
  local flag = BY_NAME[args[1]]
  if flag and flag.action then
    if #args > 1 then
      io.stderr:write("nsbox: ", args[1], " takes no arguments\n")
      os.exit(125)
    end
    flag.action()
    os.exit(0)
  end
  require("nsbox.cli").main(function()
    local fragments, from = M.parse(args, 1)
    local argv = table.move(args, from, #args, 1, {})
    return require("nsbox").recipe(table.unpack(fragments)), #argv > 0 and argv or nil
  end, args)
end

M.integer = integer

return M
