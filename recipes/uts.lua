-- A new UTS namespace whose hostname is "nsbox"; the host's stays as it is.
--   nsbox uts [CMD [ARG...]]   (or: lua recipes/uts.lua [CMD [ARG...]])
if type((...)) ~= "table" then require("nsbox.core") return require("nsbox.command").script(arg[0], { ... }) end
return { namespaces = { "uts" }, hostname = "nsbox" }
