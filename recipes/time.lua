-- A new time namespace, CLOCK_BOOTTIME a day ahead and CLOCK_MONOTONIC an hour (CMD: cat /proc/uptime).
--   nsbox time [CMD [ARG...]]   (or: lua recipes/time.lua [CMD [ARG...]])
if type((...)) ~= "table" then require("nsbox.core") return require("nsbox.command").script(arg[0], { ... }) end
return {
  namespaces = { "time" },
  time = { boottime = 86400, monotonic = 3600 },
  argv = { "cat", "/proc/uptime" },
}
