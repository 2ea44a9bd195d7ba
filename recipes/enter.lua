-- Join the namespaces of a running process, like nsenter -a: every namespace
-- of PID that differs from ours, with PID's root and working directory.
--   lua recipes/enter.lua PID [CMD [ARG...]]
local tree = (arg[0]:match("^(.*)/") or ".") .. "/.."  -- run from a checkout, or installed
package.path = tree .. "/lua/?.lua;" .. tree .. "/lua/?/init.lua;" .. package.path
package.cpath = tree .. "/build/?.so;" .. package.cpath
local nsbox = require "nsbox"

nsbox.cli.main(function(args)
  local pid = math.tointeger(tonumber(args[1]))
  if not pid or pid < 1 then error("usage: lua recipes/enter.lua PID [CMD [ARG...]]", 0) end
  local argv = #args > 1 and table.move(args, 2, #args, 1, {}) or nil
  return nsbox.recipe { join = pid }, argv
end)
