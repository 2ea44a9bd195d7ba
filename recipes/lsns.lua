-- The namespaces processes are in, printed like `lsns -l`: the command `nsbox lsns`.
--   nsbox lsns [TYPE] [-J]   (or: lua recipes/lsns.lua [TYPE] [-J])
if type((...)) ~= "table" then return dofile(arg[0]:match("^(.-)[^/]*$") .. "../bin/nsbox") end -- run directly
return "lsns"
