-- A locked-down sandbox: every namespace, no capabilities at all, no_new_privs,
-- resource limits, an init that reaps and forwards signals, death with the
-- parent, a session of its own, the kernel's interfaces read-only; run by
-- root, root inside is nobody outside. Works unprivileged.
--   lua recipes/locked.lua [CMD [ARG...]]
local tree = (arg[0]:match("^(.*)/") or ".") .. "/.."  -- run from a checkout, or installed
package.path = tree .. "/lua/?.lua;" .. tree .. "/lua/?/init.lua;" .. package.path
package.cpath = tree .. "/build/?.so;" .. package.cpath
local nsbox = require "nsbox"

nsbox.cli.main(nsbox.recipe(nsbox.protect_kernel, {
  namespaces = { "user", "uts", "ipc", "pid", "mount", "net" },
  unprivileged = true,
  hostname = "locked",
  mounts = { { type = "proc", target = "/proc" } },
  caps = { keep = {} },
  no_new_privs = true,
  rlimits = { nofile = 1024, nproc = 512, core = 0 },
  init = true,
  die_with_parent = true,
  new_session = true,
}))
