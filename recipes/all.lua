-- Every namespace nsbox knows at once, with a fresh /proc and hostname "nsbox";
-- works for an unprivileged user, since the user namespace makes the rest permitted.
--   lua recipes/all.lua [CMD [ARG...]]
local tree = (arg[0]:match("^(.*)/") or ".") .. "/.."  -- run from a checkout, or installed
package.path = tree .. "/lua/?.lua;" .. tree .. "/lua/?/init.lua;" .. package.path
package.cpath = tree .. "/build/?.so;" .. package.cpath
local nsbox = require "nsbox"

nsbox.cli.main(nsbox.recipe {
  namespaces = { "user", "uts", "ipc", "pid", "mount", "net", "cgroup" },
  hostname = "nsbox",
  mounts = { { type = "proc", target = "/proc" } },
})
