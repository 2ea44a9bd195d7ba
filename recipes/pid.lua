-- New PID and mount namespaces: CMD is PID 1, and a fresh /proc shows only its processes.
--   lua recipes/pid.lua [CMD [ARG...]]
local tree = (arg[0]:match("^(.*)/") or ".") .. "/.."  -- run from a checkout, or installed
package.path = tree .. "/lua/?.lua;" .. tree .. "/lua/?/init.lua;" .. package.path
package.cpath = tree .. "/build/?.so;" .. package.cpath
local nsbox = require "nsbox"

nsbox.cli.main(nsbox.recipe {
  namespaces = { "pid", "mount" },
  mounts = { { type = "proc", target = "/proc" } },
})
