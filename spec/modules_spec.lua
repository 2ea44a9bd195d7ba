-- nsbox's modules precompiled into nsbox.core and the nsbox command
-- (tools/embed.lua, csrc/modules.c): a precompiled copy runs only while it is
-- what its source says, so a checkout always runs its sources as they are.
local H = require "helpers"

-- What `lua` prints, loading the modules of dir's lua/ through dir's core.
local function lua_in(dir, code)
  return H.sh(("LUA_PATH_5_4='%s/lua/?.lua;%s/lua/?/init.lua' LUA_CPATH_5_4='%s/build/?.so' lua5.4 -e %s")
    :format(dir, dir, dir, H.quote(code)))
end

describe("the precompiled modules", function()
  it("run a changed source, in the command and in lua, without a rebuild", function()
    local dir = H.copied_checkout()
    assert.same({ "nsbox version scm-1\nspec: 1.0.2\n", "", 0 }, { H.sh(dir .. "/bin/nsbox --version") })
    local init = H.slurp(dir .. "/lua/nsbox/init.lua")
    H.write(dir .. "/lua/nsbox/init.lua", (init:gsub('VERSION = "scm%-1"', 'VERSION = "edited"')))
    assert.same({ "nsbox version edited\nspec: 1.0.2\n", "", 0 }, { H.sh(dir .. "/bin/nsbox --version") })
    assert.same({ "edited\n", "", 0 }, { lua_in(dir, 'require "nsbox.core"; print(require("nsbox").VERSION)') })
  end)

  it("are what runs while the sources are unchanged, with the sources' paths", function()
    local dir = H.copied_checkout()
    -- Precompiled without debug information, a function's source is "=?".
    local out, err, code = lua_in(dir, 'require "nsbox.core"; local recipe = require "nsbox.recipe"; '
      .. 'print(debug.getinfo(recipe.build, "S").source)')
    assert.same({ "=?\n", "", 0 }, { out, err, code })
    H.write(dir .. "/lua/nsbox/recipe.lua", H.slurp(dir .. "/lua/nsbox/recipe.lua") .. "\n")
    assert.same({ "@" .. dir .. "/lua/nsbox/recipe.lua\n", "", 0 },
      { lua_in(dir, 'require "nsbox.core"; print(debug.getinfo(require("nsbox.recipe").build, "S").source)') })
    assert.same({ "uts\n", "", 0 }, { H.sh(dir .. "/bin/nsbox --list | grep -o '^uts'") })
  end)

  it("are loaded only when used: a recipe without cgroup, network or seccomp loads none of their concerns", function()
    local loaded = "local names = {}; "
      .. "for _, m in ipairs { 'cgroups', 'network', 'seccomp', 'oci', 'lsns', 'flags' } do "
      .. "if package.loaded['nsbox.' .. m] then names[#names + 1] = m end end; print(table.concat(names, ' '))"
    assert.same({ "\n", "", 0 }, { H.sh("lua5.4 -e " .. H.quote("local nsbox = require 'nsbox'; "
      .. "assert(nsbox.run(nsbox.load('all'), { 'true' })); " .. loaded)) })
    assert.same({ "cgroups seccomp\n", "", 0 }, { H.sh("lua5.4 -e " .. H.quote("local nsbox = require 'nsbox'; "
      .. "nsbox.compile { seccomp = nsbox.seccomp.deny { 'mount' }, cgroup = { limits = { pids = 10 } } }; "
      .. loaded)) })
  end)
end)
