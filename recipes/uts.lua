-- A new UTS namespace whose hostname is "nsbox"; the host's stays as it is.
--   nsbox uts [CMD [ARG...]]   (or: lua recipes/uts.lua [CMD [ARG...]])
if type((...)) ~= "table" then return dofile(arg[0]:match("^(.-)[^/]*$") .. "../bin/nsbox") end -- run directly
return { namespaces = { "uts" }, hostname = "nsbox" }
