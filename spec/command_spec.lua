-- The `nsbox` command (bin/nsbox) run as a user runs it: its grammar, the
-- stock recipes, help, version, exit codes, and where it loads modules from.
local nsbox = require "nsbox"
local command = require "nsbox.command"
local H = require "helpers"

local function names(list)
  local out = {}
  for i, item in ipairs(list) do out[i] = item.name or item end
  return out
end

describe("nsbox RECIPE", function()
  H.root_it("runs a stock recipe by name, with the command after it", function()
    assert.same({ "nsbox\n", "", 0 }, { H.nsbox { "uts", "hostname" } })
  end)

  H.root_it("runs a recipe file by path: a table, or a function of the words after it", function()
    local dir = H.temp_dir()
    H.write(dir .. "/web.lua", '-- a web box\nreturn { namespaces = { "uts" }, hostname = "web" }\n')
    H.write(dir .. "/named.lua", 'return function(args) return { namespaces = { "uts" }, hostname = args[1] }, '
      .. '{ "sh", "-c", "hostname; echo $0", table.unpack(args, 2) } end\n')
    assert.same({ "web\n", "", 0 }, { H.nsbox { dir .. "/web.lua", "hostname" } })
    assert.same({ "db\nextra\n", "", 0 }, { H.nsbox { dir .. "/named.lua", "db", "extra" } })
  end)

  it("runs the recipe's own command, else /bin/sh, when none is given", function()
    local out, err, code = H.sh("echo 'echo from-sh' | bin/nsbox user")
    assert.same({ "from-sh\n", "", 0 }, { out, err, code })
  end)

  it("exits like the recipe scripts: CMD's status, 128+N, 125, 126, 127", function()
    local dir = H.temp_dir()
    H.write(dir .. "/bad.lua", 'return { namespaces = { "utz" } }\n')
    assert.equal(3, select(3, H.nsbox { "user", "sh", "-c", "exit 3" }))
    assert.equal(128 + 9, select(3, H.nsbox { "user", "sh", "-c", "kill -9 $$" }))
    local _, err, code = H.nsbox { "user", "/nonexistent" }
    assert.equal(127, code)
    assert.matches("^nsbox: exec /nonexistent %(step %d+%): No such file or directory\n$", err)
    assert.equal(126, select(3, H.nsbox { "user", "/etc/passwd" }))
    _, err, code = H.nsbox { dir .. "/bad.lua" }
    assert.equal(125, code)
    assert.matches("^nsbox: " .. dir:gsub("%p", "%%%0") .. "/bad.lua: nsbox.recipe: namespaces%[1%]: "
      .. "unknown namespace 'utz'", err)
  end)

  it("names a first word that is neither a command nor a recipe, and a missing file", function()
    assert.same({ "", "nsbox: 'bogus' is neither a command nor a recipe "
      .. "(nsbox --help shows the commands, nsbox --list the recipes)\n", 125 }, { H.nsbox { "bogus", "true" } })
    local _, err, code = H.nsbox { "./missing.lua" }
    assert.same({ "nsbox: cannot open ./missing.lua: No such file or directory\n", 125 }, { err, code })
    assert.same({ "", "nsbox: no recipe given (nsbox --help shows the usage, nsbox --list the recipes)\n", 125 },
      { H.nsbox {} })
  end)

  it("hands runc's verbs to the runtime, which refuses those it does not do", function()
    assert.same({ "", "nsbox: 'checkpoint' is not supported by nsbox's runtime (no CRIU)\n", 1 },
      { H.nsbox { "--root", "/nonexistent-nsbox", "checkpoint", "x" } })
  end)

  it("has command, reserved and stock recipe names that never overlap", function()
    local seen = {}
    for name in pairs(command.COMMANDS) do seen[name] = "command" end
    for _, name in ipairs(command.RESERVED) do
      assert.is_nil(seen[name], name)
      seen[name] = "reserved"
    end
    for _, recipe in ipairs(command.stock()) do assert.is_nil(seen[recipe.name], recipe.name) end
  end)
end)

describe("nsbox --list", function()
  it("lists every stock recipe with its file's first line, and not the commands' script forms", function()
    local out, err, code = H.nsbox { "--list" }
    assert.same({ "", 0 }, { err, code })
    local listed = {}
    for name, text in out:gmatch("(%S+) +([^\n]*)\n") do listed[#listed + 1] = name .. ": " .. text end
    local expected = {}
    for file in H.sh("ls recipes"):gmatch("(%S+)%.lua") do
      if file ~= "lsns" and file ~= "enter" then
        expected[#expected + 1] = file .. ": " .. H.slurp("recipes/" .. file .. ".lua"):match("^%-%- ([^\n]*)")
      end
    end
    assert.same(expected, listed)
    assert.same({ "all", "cgroup", "ipc", "locked", "mount", "net", "oci", "pid", "rootfs", "time", "user", "uts" },
      names(command.stock()))
  end)
end)

describe("nsbox --help and --version", function()
  it("--help gives the synopsis, the grammar, every command and every flag", function()
    local out, err, code = H.nsbox { "--help" }
    assert.same({ "", 0 }, { err, code })
    assert.matches("^usage: nsbox RECIPE %[FLAG%.%.%.%] %[CMD %[ARG%.%.%.%]%]\n", out)
    assert.matches("Exit status: CMD's own; 128%+N", out)
    for name in pairs(command.COMMANDS) do assert.matches("\n  " .. name:gsub("%-", "%%-") .. " ", out) end
    for _, flag in ipairs(require("nsbox.flags").FLAGS) do
      assert.matches("\n  " .. flag.name:gsub("%-", "%%-") .. "[ \n]", out)
    end
    assert.same({ out, "", 0 }, { H.nsbox { "help" } })
  end)

  it("--version prints nsbox.VERSION, the rockspec's version, in runc's shape", function()
    assert.same({ "nsbox version " .. nsbox.VERSION .. "\nspec: 1.0.2\n", "", 0 }, { H.nsbox { "--version" } })
    assert.matches('\nversion = "' .. nsbox.VERSION:gsub("%-", "%%-") .. '"\n', H.slurp("nsbox-scm-1.rockspec"))
  end)
end)

describe("recipe files run directly", function()
  H.root_it("`lua recipes/uts.lua hostname` prints nsbox, from the checkout and from recipes/", function()
    assert.same({ "nsbox\n", "", 0 }, { H.recipe("uts", { "hostname" }) })
    assert.same({ "nsbox\n", "", 0 }, { H.sh("cd recipes && lua uts.lua hostname") })
  end)

  it("take their arguments as the command, flags included, as before the launcher", function()
    assert.same({ "--hostname\n", "", 0 }, { H.recipe("user", { "echo", "--hostname" }) })
  end)

  it("of a command are that command: recipes/lsns.lua is nsbox lsns", function()
    local out, err, code = H.recipe("lsns", { "bogus" })
    assert.same({ "", 125 }, { out, code })
    assert.same(select(2, H.nsbox { "lsns", "bogus" }), err)
  end)
end)

describe("nsbox.load", function()
  it("returns a stock recipe by name and the words after it as its command", function()
    local r, argv = nsbox.load("uts", { "hostname" })
    assert.equal("nsbox", r.hostname)
    assert.same({ "hostname" }, argv)
    r, argv = nsbox.load("time")
    assert.same({ "time" }, r.namespaces)
    assert.is_nil(argv)
  end)

  it("takes a path, and refuses a command's script form and an unknown name", function()
    local r = nsbox.load("recipes/rootfs.lua", { "/srv", "true" })
    assert.equal("/srv", r.rootfs)
    assert.has_error(function() nsbox.load("recipes/lsns.lua") end,
      "recipes/lsns.lua is the command 'nsbox lsns', not a recipe")
    assert.has_error(function() nsbox.load("nope") end, "unknown recipe 'nope' (nsbox --list shows them)")
  end)
end)

-- A directory anyone may write, as /tmp is, holding modules a local user planted.
local function planted_tree()
  local dir = H.temp_dir()
  H.sh("chmod 1777 " .. dir .. " && mkdir -p " .. dir .. "/lua/nsbox " .. dir .. "/x")
  local mark = dir .. "/hijacked"
  for _, module in ipairs { "init", "command" } do
    H.write(dir .. "/lua/nsbox/" .. module .. ".lua", ("io.open(%q, 'w'):write('yes') print('HIJACKED') os.exit(0)\n")
      :format(mark))
  end
  H.write(dir .. "/x/r.lua", '-- mine\nreturn { namespaces = { "user" } }\n')
  return dir, mark
end

-- A copy of the nsbox command alone, in a directory of its own: no checkout, no modules around it.
local function command_alone()
  local dir = H.temp_dir()
  H.sh(("mkdir %s/bin && cp bin/nsbox %s/bin/"):format(dir, dir))
  return dir .. "/bin/nsbox"
end

local function pattern(text)
  return (text:gsub("%p", "%%%0"))
end

describe("where nsbox loads its modules from", function()
  it("never takes stock recipes from the current directory when its modules have no source files", function()
    local dir, mark = planted_tree()
    H.sh("mkdir " .. dir .. "/recipes")
    H.write(dir .. "/recipes/uts.lua", ("io.open(%q, 'w'):write('yes') return {}\n"):format(mark))
    H.write(dir .. "/recipes/planted.lua", "-- planted\nreturn {}\n")
    local preloaded = ("cd %s && LUA_PATH_5_4=/nonexistent/?.lua LUA_CPATH_5_4=%s/build/?.so lua5.4 -e "):format(dir,
      H.trim(H.sh("pwd")))
    assert.same({ "0\tunknown recipe 'uts' (no stock recipes: nsbox's modules were not loaded from files)\n", "", 0 },
      { H.sh(preloaded .. H.quote('require "nsbox.core"; print(#require("nsbox.command").stock(), '
        .. 'select(2, pcall(require("nsbox").load, "uts")))')) })
    local out, err, code = H.sh(("cd %s && env -u LUA_PATH_5_4 -u LUA_PATH %s uts"):format(dir, command_alone()))
    assert.same({ "", "nsbox: 'uts' is neither a command nor a recipe (no stock recipes: nsbox's modules were not "
      .. "loaded from files)\n", 125 }, { out, err, code })
    assert.is_nil(H.slurp(mark))
  end)

  H.root_it("never looks for a checkout around the current directory when it cannot find its own path", function()
    local dir, mark = planted_tree()
    H.sh(("chmod 755 %s && mkdir -p %s/build/nsbox && touch %s/build/nsbox/core.so && cp bin/nsbox %s/x/")
      :format(dir, dir, dir, dir))
    -- Without /proc (in a mount namespace of its own), realpath("/proc/self/exe") fails.
    local out = H.sh(("unshare -m --propagation private sh -c 'mount -t tmpfs none /proc && cd %s/x && ./nsbox "
      .. "--version'"):format(dir))
    assert.is_not.equal("HIJACKED\n", out)
    assert.is_nil(H.slurp(mark))
  end)

  it("ignores LUA_PATH and LUA_CPATH: a module planted on them never runs", function()
    local dir, mark = planted_tree()
    local env = ("LUA_PATH_5_4='%s/lua/?.lua' LUA_PATH='%s/lua/?.lua' LUA_CPATH_5_4='%s/?.so' "):format(dir, dir, dir)
    local alone = command_alone()
    -- Without the variables: a refusal (125), or the version where a rock is installed on Lua's default C path.
    local out, _, code = H.sh(alone .. " --version")
    assert.is_true((out == "" and code == 125) or (out:match("^nsbox version ") ~= nil and code == 0), out)
    local planted_out, _, planted_code = H.sh(env .. alone .. " --version")
    assert.same({ out, code }, { planted_out, planted_code })
    assert.is_nil(H.slurp(mark))
  end)

  H.root_it("refuses a checkout below a directory another user owns", function()
    local parent = H.temp_dir()
    local tree = H.copied_checkout(parent .. "/tree")
    H.sh("chown 65534 " .. parent)
    local _, err = H.sh(tree .. "/bin/nsbox --version")
    assert.matches("^nsbox: not using the checkout " .. pattern(tree) .. ": other users can change " .. pattern(parent)
      .. "\n", err)
  end)

  it("refuses a checkout that a group may write, the caller's own group too, and accepts it once it may not", function()
    local tree = H.copied_checkout()
    H.sh("chmod g+w " .. tree .. "/lua/nsbox")
    local _, err = H.sh(tree .. "/bin/nsbox --version")
    assert.matches("^nsbox: not using the checkout " .. pattern(tree) .. ": other users can change " .. pattern(tree)
      .. "/lua/nsbox\n", err)
    H.sh("chmod g-w " .. tree .. "/lua/nsbox")
    assert.same({ "nsbox version " .. nsbox.VERSION .. "\nspec: 1.0.2\n", "", 0 },
      { H.sh(tree .. "/bin/nsbox --version") })
  end)

  it("refuses installed modules others can change, and runs its own precompiled copies instead", function()
    local dir, mark = planted_tree()
    local program = command_alone()
    local tree = program:match("^(.*)/bin/nsbox$")
    H.sh(("mkdir -p %s/share/lua/5.4 && cp -r %s/lua/nsbox %s/share/lua/5.4/ && chmod 777 %s/share/lua/5.4")
      :format(tree, dir, tree, tree))
    local out, err = H.sh(program .. " --version")
    assert.is_not.equal("HIJACKED\n", out)
    assert.matches("^nsbox: not using the modules installed in " .. pattern(tree) .. ": other users can change "
      .. pattern(tree) .. "/share/lua/5%.4\n", err)
    assert.is_nil(H.slurp(mark))
  end)

  it("never next to a recipe in a directory others can write, nor from the current directory", function()
    local dir, mark = planted_tree()
    H.write(dir .. "/nsbox.lua", "io.open('" .. mark .. "', 'w'):write('yes')\n")
    assert.same({ "inside\n", "", 0 }, { H.nsbox { dir .. "/x/r.lua", "echo", "inside" } })
    assert.same({ "", "", 0 }, { H.sh("lua " .. dir .. "/x/r.lua") }) -- data: running it directly does nothing
    assert.same({ "inside\n", "", 0 }, { H.sh("cd " .. dir .. " && " .. H.quote(H.trim(H.sh("pwd")))
      .. "/bin/nsbox x/r.lua echo inside") })
    assert.is_nil(H.slurp(mark))
  end)

  it("runs a copy of a stock recipe with the modules Lua finds, never a launcher planted beside it", function()
    local dir, mark = planted_tree()
    H.sh("mkdir " .. dir .. "/bin && cp recipes/uts.lua " .. dir .. "/x/")
    H.write(dir .. "/bin/nsbox", ("io.open(%q, 'w'):write('yes') print('HIJACKED')\n"):format(mark))
    assert.same({ "inside\n", "", 0 }, { H.sh("lua " .. dir .. "/x/uts.lua echo inside") })
    assert.is_nil(H.slurp(mark))
  end)

  it("refuses a launcher's checkout that others can change, naming what they can change", function()
    local dir, mark = planted_tree()
    H.sh("mkdir " .. dir .. "/bin && cp bin/nsbox " .. dir .. "/bin/")
    local out, err = H.sh(dir .. "/bin/nsbox --version")
    assert.is_not.equal("HIJACKED\n", out)
    assert.matches("^nsbox: not using the checkout " .. pattern(dir) .. ": other users can change " .. pattern(dir)
      .. "\n", err)
    assert.is_nil(H.slurp(mark))
  end)

  H.root_it("refuses a checkout whose module directory another user owns", function()
    local dir, mark = planted_tree()
    H.sh("chmod 755 " .. dir .. " && mkdir " .. dir .. "/bin && cp bin/nsbox " .. dir .. "/bin/ && chown 65534 "
      .. dir .. "/lua/nsbox")
    local _, err = H.sh(dir .. "/bin/nsbox --version")
    assert.matches("other users can change " .. pattern(dir) .. "/lua/nsbox\n", err)
    assert.is_nil(H.slurp(mark))
  end)
end)
