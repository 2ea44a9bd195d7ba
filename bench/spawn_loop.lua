-- A long loop of unprivileged spawns, for races between the parent writing a
-- child's id maps and the child starting (issue #9's "write gid_map: Invalid
-- argument"). Run as a non-root user, from the checkout:
--   setpriv --reuid=65534 --regid=65534 --clear-groups lua5.4 bench/spawn_loop.lua [N]
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local nsbox = require "nsbox"

local n = tonumber(arg[1]) or 20000
local shapes = {
  nsbox.compile { namespaces = { "user", "uts" }, hostname = "loop" },
  nsbox.compile { namespaces = { "user", "uts", "ipc", "net", "mount" }, setgroups = "deny" },
  nsbox.compile { namespaces = { "user", "pid", "mount" }, mounts = { { type = "proc", target = "/proc" } } },
}
local failures = {}
for i = 1, n do
  local ok, how, code = nsbox.run(shapes[i % #shapes + 1], { "/bin/true" })
  if not ok then failures[#failures + 1] = ("%d: %s %s"):format(i, tostring(how), tostring(code)) end
end
for _, f in ipairs(failures) do print(f) end
print(("%d spawns, %d failed"):format(n, #failures))
os.exit(#failures == 0 and 0 or 1)
