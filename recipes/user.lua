-- A new user namespace mapping the caller's uid and gid to 0 inside; works unprivileged.
--   lua recipes/user.lua [CMD [ARG...]]
local tree = (arg[0]:match("^(.*)/") or ".") .. "/.."  -- run from a checkout, or installed
package.path = tree .. "/lua/?.lua;" .. tree .. "/lua/?/init.lua;" .. package.path
package.cpath = tree .. "/build/?.so;" .. package.cpath
local nsbox = require "nsbox"

nsbox.cli.main(nsbox.recipe { namespaces = { "user" } })
