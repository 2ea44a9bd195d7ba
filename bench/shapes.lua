-- The recipe shapes the in-process bench spawns /bin/true under, one entry
-- each: a name and the recipe (a table, or a function returning one). The C
-- floor of each follows nsbox's compiled plan (bench.lua's floor_args): a
-- shape whose plan has a step floor.c lacks gets its nsbox time and a floor
-- of n/a with the reason, and one whose recipe does not compile, n/a.

local nsbox = require "nsbox"

-- The recipe a recipe file gives for these arguments (nsbox.load), so the
-- bench keeps measuring what the file does.
local function script_recipe(path, ...)
  local args = { ... }
  return function() return (nsbox.load(path, args)) end
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
  {
    name = "uts+ipc+pid+mount+proc, seccomp default profile (compiled once)",
    recipe = function()
      return {
        namespaces = { "uts", "ipc", "pid", "mount" },
        hostname = "nsbox",
        mounts = { { type = "proc", target = "/proc" } },
        seccomp = nsbox.seccomp.default,
      }
    end,
  },
  -- bench/run.sh lays out this busybox tree.
  {
    name = "rootfs (recipes/rootfs.lua, busybox)",
    recipe = script_recipe("recipes/rootfs.lua", os.getenv("BENCH_ROOTFS") or "build/bench/rootfs"),
  },
  -- Last: the growth rows run under the last shape, all.lua's, as doc/performance.md's table says.
  { name = "all (recipes/all.lua)", recipe = script_recipe "recipes/all.lua" },
}
