-- A new user namespace mapping the caller's uid and gid to 0 inside; works unprivileged.
--   nsbox user [CMD [ARG...]]   (or: lua recipes/user.lua [CMD [ARG...]])
if type((...)) ~= "table" then require("nsbox.core") return require("nsbox.command").script(arg[0], { ... }) end
return { namespaces = { "user" } }
