-- New PID and mount namespaces: CMD is PID 1, and a fresh /proc shows only its processes.
--   nsbox pid [CMD [ARG...]]   (or: lua recipes/pid.lua [CMD [ARG...]])
if type((...)) ~= "table" then require("nsbox.core") return require("nsbox.command").script(arg[0], { ... }) end
return {
  namespaces = { "pid", "mount" },
  mounts = { { type = "proc", target = "/proc" } },
}
