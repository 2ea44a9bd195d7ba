-- A new network namespace holding only lo, brought up.
--   lua recipes/net.lua [CMD [ARG...]]
local tree = (arg[0]:match("^(.*)/") or ".") .. "/.."  -- run from a checkout, or installed
package.path = tree .. "/lua/?.lua;" .. tree .. "/lua/?/init.lua;" .. package.path
package.cpath = tree .. "/build/?.so;" .. package.cpath
local nsbox = require "nsbox"

nsbox.cli.main(nsbox.recipe { namespaces = { "net" } })
