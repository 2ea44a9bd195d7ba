-- A new IPC namespace: the host's System V IPC objects and POSIX message queues are invisible.
--   lua recipes/ipc.lua [CMD [ARG...]]
local tree = (arg[0]:match("^(.*)/") or ".") .. "/.."  -- run from a checkout, or installed
package.path = tree .. "/lua/?.lua;" .. tree .. "/lua/?/init.lua;" .. package.path
package.cpath = tree .. "/build/?.so;" .. package.cpath
local nsbox = require "nsbox"

nsbox.cli.main(nsbox.recipe { namespaces = { "ipc" } })
