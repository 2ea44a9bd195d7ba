-- A new mount namespace with private propagation: what CMD mounts stays inside.
--   nsbox mount [CMD [ARG...]]   (or: lua recipes/mount.lua [CMD [ARG...]])
if type((...)) ~= "table" then require("nsbox.core") return require("nsbox.command").script(arg[0], { ... }) end
return { namespaces = { "mount" } }
