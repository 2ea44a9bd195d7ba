-- The recipe shapes the in-process bench spawns /bin/true under, one entry
-- each: a name and the recipe (a table, or a function returning one). The C
-- floor of each follows nsbox's compiled plan (bench.lua's floor_args): a
-- shape whose plan has a step floor.c lacks gets its nsbox time and a floor
-- of n/a with the reason, and one whose recipe does not compile, n/a.

local nsbox = require "nsbox"

-- The recipe a recipe script runs with the arguments given, read from the
-- script itself so the bench keeps measuring what the script does: it runs
-- with an nsbox whose cli.main keeps the recipe instead of running it.
local function script_recipe(path, ...)
  local args = { [0] = path, ... }
  return function()
    local recipe
    local function keep(what, given)
      -- A script that reads its arguments hands main a function of them, which returns recipe and command.
      if type(what) == "function" then what = what(given or args) end
      recipe = what
    end
    local stand_in = setmetatable({ cli = { main = keep } }, { __index = nsbox })
    local env = setmetatable({
      arg = args,
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
  -- bench/run.sh lays out this busybox tree.
  {
    name = "rootfs (recipes/rootfs.lua, busybox)",
    recipe = script_recipe("recipes/rootfs.lua", os.getenv("BENCH_ROOTFS") or "build/bench/rootfs"),
  },
  -- Last: the growth rows run under the last shape, all.lua's, as the README's table says.
  { name = "all (recipes/all.lua)", recipe = script_recipe "recipes/all.lua" },
}
