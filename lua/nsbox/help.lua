-- nsbox.help: what `nsbox --help`, `nsbox help KEY` and `nsbox --list`
-- print, and the man page and README flag table (`make doc`), all made from
-- nsbox.flags's table and nsbox.command's commands so they cannot drift apart.

local command = require "nsbox.command"
local flags = require "nsbox.flags"

local M = {}

M.SYNOPSIS = {
  "nsbox RECIPE [FLAG...] [CMD [ARG...]]",
  "nsbox FLAG... [CMD [ARG...]]",
  "nsbox COMMAND [ARG...]",
}

M.GRAMMAR = [[
The first word decides. A word starting with '-' begins bubblewrap-style
flags: the first word after them that is not an option is CMD ('--' ends
them). Otherwise the word is a command, or a recipe: a stock recipe's name
(nsbox --list) or a recipe file's path (any word with a '/' or ending in
.lua). Command and recipe names never overlap; a word that is neither is an
error. Flags after a recipe are merged into it as a later fragment:
nsbox all --hostname web sh. CMD defaults to the recipe's argv, else /bin/sh.
Exit status: CMD's own; 128+N when it died of signal N; 125 when nsbox failed;
126 when CMD could not be executed; 127 when it was not found.]]

local function flag_usage(flag)
  return table.concat({ flag.name, table.unpack(flag.args or {}) }, " ")
end

local function command_names()
  local names = {}
  for name in pairs(command.COMMANDS) do names[#names + 1] = name end
  table.sort(names)
  return names
end

-- Two columns: the left padded to the widest left.
local function columns(rows, indent)
  local w = 0
  for _, row in ipairs(rows) do w = math.max(w, #row[1]) end
  local lines = {}
  for i, row in ipairs(rows) do lines[i] = indent .. row[1] .. (" "):rep(w - #row[1] + 2) .. row[2] end
  return table.concat(lines, "\n")
end

function M.text()
  local cmds, opts = {}, {}
  for i, name in ipairs(command_names()) do
    local c = command.COMMANDS[name]
    cmds[i] = { name .. " " .. c.usage, c.help }
  end
  for i, flag in ipairs(flags.FLAGS) do
    opts[i] = { flag_usage(flag), flag.help .. (flag.key and (" [" .. flag.key .. "]") or "") }
  end
  return table.concat({
    "usage: " .. table.concat(M.SYNOPSIS, "\n       "),
    "",
    M.GRAMMAR,
    "",
    "Commands:",
    columns(cmds, "  "),
    "  OCI runtime, runc's command line (doc/runtime.md): " .. table.concat(command.RESERVED, ", "),
    "",
    "Flags (the recipe key each sets in brackets; nsbox help KEY for one):",
    columns(opts, "  "),
  }, "\n")
end

-- The flags whose name or recipe key is key (with or without the dashes).
local function flags_for(key)
  local found = {}
  for _, flag in ipairs(flags.FLAGS) do
    if flag.name == key or flag.name == "--" .. key or flag.key == key then found[#found + 1] = flag end
  end
  return found
end

function M.show(key)
  if not key then return print(M.text()) end
  local found = flags_for(key)
  if #found == 0 then
    io.stderr:write("nsbox: no flag or recipe key '", key, "' (nsbox --help lists them)\n")
    os.exit(125)
  end
  for _, flag in ipairs(found) do
    print(flag_usage(flag))
    print("    " .. flag.help .. (flag.key and ("; recipe key: " .. flag.key) or ""))
  end
end

function M.list()
  local rows = {}
  for i, recipe in ipairs(command.stock()) do rows[i] = { recipe.name, recipe.description } end
  print(columns(rows, ""))
end

-- ---- the man page and the README's table ----

local function markdown_cell(text)
  return (text:gsub("|", "\\|"))
end

-- The README's flag table: flag, recipe key, what it does.
function M.markdown()
  local lines = { "| flag | recipe key | what it does |", "|---|---|---|" }
  for _, flag in ipairs(flags.FLAGS) do
    lines[#lines + 1] = ("| `%s` | %s | %s%s |"):format(flag_usage(flag), flag.key and ("`" .. flag.key .. "`") or "",
      markdown_cell(flag.help), flag.nsbox and " (nsbox's own)" or "")
  end
  return table.concat(lines, "\n") .. "\n"
end

local function roff(text)
  return (text:gsub("\\", "\\e"):gsub("%-", "\\-"):gsub("^%.", "\\&."):gsub("^'", "\\&'"))
end

-- nsbox(1), in man(7) macros.
function M.man()
  local out = {
    ".TH NSBOX 1 \"\" \"nsbox " .. require("nsbox").VERSION .. "\" \"User Commands\"",
    ".SH NAME", "nsbox \\- run a command in new Linux namespaces, from a recipe or from flags",
    ".SH SYNOPSIS",
  }
  for _, line in ipairs(M.SYNOPSIS) do out[#out + 1] = ".B " .. roff(line) .. "\n.br" end
  out[#out + 1] = ".SH DESCRIPTION"
  for paragraph in M.GRAMMAR:gmatch("[^\n]+") do out[#out + 1] = roff(paragraph) end
  out[#out + 1] = ".SH COMMANDS"
  for _, name in ipairs(command_names()) do
    local c = command.COMMANDS[name]
    out[#out + 1] = ".TP\n.B " .. roff(name .. " " .. c.usage) .. "\n" .. roff(c.help)
  end
  out[#out + 1] = ".PP\nOCI runtime verbs, with runc's command line (see doc/runtime.md): "
    .. table.concat(command.RESERVED, ", ") .. "."
  out[#out + 1] = ".SH OPTIONS"
  for _, flag in ipairs(flags.FLAGS) do
    out[#out + 1] = ".TP\n.B " .. roff(flag_usage(flag)) .. "\n" .. roff(flag.help)
      .. (flag.key and (" [recipe key: " .. roff(flag.key) .. "]") or "")
  end
  out[#out + 1] = ".SH RECIPES"
  for _, recipe in ipairs(command.stock()) do
    out[#out + 1] = ".TP\n.B " .. roff(recipe.name) .. "\n" .. roff(recipe.description)
  end
  out[#out + 1] = ".SH SEE ALSO\nbwrap(1), unshare(1), nsenter(1), lsns(8), namespaces(7)"
  return table.concat(out, "\n") .. "\n"
end

return M
