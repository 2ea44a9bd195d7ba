-- A new cgroup namespace: the paths in /proc/self/cgroup start at "/" (CMD: cat /proc/self/cgroup).
--   nsbox cgroup [CMD [ARG...]]   (or: lua recipes/cgroup.lua [CMD [ARG...]])
if type((...)) ~= "table" then require("nsbox.core") return require("nsbox.command").script(arg[0], { ... }) end
-- The command's cgroup becomes the root of what it sees.
return { namespaces = { "cgroup" }, argv = { "cat", "/proc/self/cgroup" } }
