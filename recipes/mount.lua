-- A new mount namespace with private propagation: what CMD mounts stays inside.
--   lua recipes/mount.lua [CMD [ARG...]]
local tree = (arg[0]:match("^(.*)/") or ".") .. "/.."  -- run from a checkout, or installed
package.path = tree .. "/lua/?.lua;" .. tree .. "/lua/?/init.lua;" .. package.path
package.cpath = tree .. "/build/?.so;" .. package.cpath
local nsbox = require "nsbox"

nsbox.cli.main(nsbox.recipe { namespaces = { "mount" } })
