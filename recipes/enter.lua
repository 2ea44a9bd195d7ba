-- Join the namespaces of a running process, like nsenter -a: the command `nsbox enter`.
--   nsbox enter PID [CMD [ARG...]]   (or: lua recipes/enter.lua PID [CMD [ARG...]])
if type((...)) ~= "table" then require("nsbox.core") return require("nsbox.command").script(arg[0], { ... }) end
return "enter"
