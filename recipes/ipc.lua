-- A new IPC namespace: the host's System V IPC objects and POSIX message queues are invisible.
--   nsbox ipc [CMD [ARG...]]   (or: lua recipes/ipc.lua [CMD [ARG...]])
if type((...)) ~= "table" then require("nsbox.core") return require("nsbox.command").script(arg[0], { ... }) end
return { namespaces = { "ipc" } }
