-- A new network namespace holding only lo, brought up.
--   nsbox net [CMD [ARG...]]   (or: lua recipes/net.lua [CMD [ARG...]])
if type((...)) ~= "table" then return dofile(arg[0]:match("^(.-)[^/]*$") .. "../bin/nsbox") end -- run directly
return { namespaces = { "net" } }
