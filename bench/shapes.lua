-- The recipe shapes the in-process bench spawns /bin/true under, one entry
-- each: a name and the recipe (a table, or a function returning one). The C
-- floor of each follows nsbox's compiled plan (bench.lua's floor_args): a
-- shape whose plan has a step floor.c lacks gets its nsbox time and a floor
-- of n/a with the reason, and one whose recipe does not compile, n/a.

local nsbox = require "nsbox"

-- The recipe a recipe script runs, read from the script itself so the bench
-- keeps measuring what the script does: it runs with an nsbox whose
-- cli.main keeps the recipe instead of running it.
local function script_recipe(path)
  return function()
    local recipe
    local stand_in = setmetatable({ cli = { main = function(r) recipe = r end } }, { __index = nsbox })
    local env = setmetatable({
      arg = { [0] = path },
      require = function(name) if name == "nsbox" then return stand_in end return require(name) end,
    }, { __index = _G })
    assert(loadfile(path, "t", env))()
    return recipe
  end
end

return {
  { name = "uts", recipe = { namespaces = { "uts" }, hostname = "nsbox" } },
  {
    name = "uts+ipc+pid+mount+proc",
    recipe = {
      namespaces = { "uts", "ipc", "pid", "mount" },
      hostname = "nsbox",
      mounts = { { type = "proc", target = "/proc" } },
    },
  },
  { name = "all (recipes/all.lua)", recipe = script_recipe "recipes/all.lua" },
}
