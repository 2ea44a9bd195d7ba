-- A new time namespace whose clocks run ahead: CLOCK_BOOTTIME by one day (so
-- /proc/uptime shows it) and CLOCK_MONOTONIC by one hour.
--   lua recipes/time.lua [CMD [ARG...]]
local tree = (arg[0]:match("^(.*)/") or ".") .. "/.."  -- run from a checkout, or installed
package.path = tree .. "/lua/?.lua;" .. tree .. "/lua/?/init.lua;" .. package.path
package.cpath = tree .. "/build/?.so;" .. package.cpath
local nsbox = require "nsbox"

nsbox.cli.main(nsbox.recipe {
  namespaces = { "time" },
  time = { boottime = 86400, monotonic = 3600 },
  argv = { "cat", "/proc/uptime" },
})
