-- Every namespace nsbox knows at once, a fresh /proc and hostname "nsbox"; works unprivileged.
--   nsbox all [CMD [ARG...]]   (or: lua recipes/all.lua [CMD [ARG...]])
if type((...)) ~= "table" then require("nsbox.core") return require("nsbox.command").script(arg[0], { ... }) end
-- The user namespace makes the rest permitted for an unprivileged user.
return {
  namespaces = { "user", "uts", "ipc", "pid", "mount", "net", "cgroup" },
  hostname = "nsbox",
  mounts = { { type = "proc", target = "/proc" } },
}
