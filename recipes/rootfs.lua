-- CMD in DIR as its root, in the namespaces of all, with /proc, a minimal /dev and a tmpfs /tmp.
--   nsbox rootfs DIR [CMD [ARG...]]   (or: lua recipes/rootfs.lua DIR [CMD [ARG...]])
if type((...)) ~= "table" then require("nsbox.core") return require("nsbox.command").script(arg[0], { ... }) end
-- Nothing of the host's tree is left reachable; the kernel's interfaces are
-- read-only, CAP_SYS_ADMIN is dropped, and the command has a session of its
-- own. Works for an unprivileged user (DIR needs proc, dev and tmp
-- directories then, since it cannot create them there).
local nsbox = require "nsbox"

-- An absolute path for the rootfs, as recipes take.
local function absolute(dir)
  if dir:sub(1, 1) == "/" then return dir end
  local pipe = assert(io.popen("pwd"))
  local cwd = pipe:read("l")
  pipe:close()
  return cwd .. "/" .. dir
end

return function(args, program)
  if not args[1] then error("usage: " .. program .. " DIR [CMD [ARG...]]", 0) end
  local recipe = nsbox.recipe({
    namespaces = { "user", "uts", "ipc", "pid", "mount", "net" },
    hostname = "nsbox",
    rootfs = absolute(args[1]),
    mounts = {
      { type = "proc", target = "/proc" },
      { type = "dev", target = "/dev" },
      { type = "tmpfs", target = "/tmp", mode = "1777" },
    },
    new_session = true,
  }, nsbox.protect_kernel)
  return recipe, #args > 1 and table.move(args, 2, #args, 1, {}) or { "/bin/sh" }
end
