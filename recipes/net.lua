-- A new network namespace holding only lo, brought up.
--   nsbox net [CMD [ARG...]]   (or: lua recipes/net.lua [CMD [ARG...]])
if type((...)) ~= "table" then return require("nsbox.command").script(arg[0], { ... }) end -- run directly
return { namespaces = { "net" } }
