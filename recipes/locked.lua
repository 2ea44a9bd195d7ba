-- A locked-down sandbox: every namespace, no capabilities, no_new_privs, seccomp, rlimits, an init; works unprivileged.
--   nsbox locked [CMD [ARG...]]   (or: lua recipes/locked.lua [CMD [ARG...]])
if type((...)) ~= "table" then require("nsbox.core") return require("nsbox.command").script(arg[0], { ... }) end
-- Also: death with the parent, a session of its own, the kernel's interfaces
-- read-only; run by root, root inside is nobody outside.
local nsbox = require "nsbox"

return nsbox.recipe(nsbox.protect_kernel, {
  namespaces = { "user", "uts", "ipc", "pid", "mount", "net" },
  unprivileged = true,
  hostname = "locked",
  mounts = { { type = "proc", target = "/proc" } },
  caps = { keep = {} },
  no_new_privs = true,
  seccomp = nsbox.seccomp.default,
  rlimits = { nofile = 1024, nproc = 512, core = 0 },
  init = true,
  die_with_parent = true,
  new_session = true,
})
