-- A new network namespace holding only lo, brought up.
--   nsbox net [CMD [ARG...]]   (or: lua recipes/net.lua [CMD [ARG...]])
if type((...)) ~= "table" then require("nsbox.core") return require("nsbox.command").script(arg[0], { ... }) end
return { namespaces = { "net" } }
