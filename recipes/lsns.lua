-- The namespaces processes are in, printed like `lsns -l`: the command `nsbox lsns`.
--   nsbox lsns [TYPE] [-J]   (or: lua recipes/lsns.lua [TYPE] [-J])
if type((...)) ~= "table" then require("nsbox.core") return require("nsbox.command").script(arg[0], { ... }) end
return "lsns"
