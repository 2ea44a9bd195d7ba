-- A new cgroup namespace: the command's cgroup becomes the root of what it
-- sees, so the paths in /proc/self/cgroup are "/".
--   lua recipes/cgroup.lua [CMD [ARG...]]
local tree = (arg[0]:match("^(.*)/") or ".") .. "/.."  -- run from a checkout, or installed
package.path = tree .. "/lua/?.lua;" .. tree .. "/lua/?/init.lua;" .. package.path
package.cpath = tree .. "/build/?.so;" .. package.cpath
local nsbox = require "nsbox"

nsbox.cli.main(nsbox.recipe { namespaces = { "cgroup" }, argv = { "cat", "/proc/self/cgroup" } })
