-- Run an OCI runtime-spec bundle as crun would: its config.json says what to run and how.
--   nsbox oci BUNDLE [CMD [ARG...]]   (or: lua recipes/oci.lua BUNDLE [CMD [ARG...]])
if type((...)) ~= "table" then require("nsbox.core") return require("nsbox.command").script(arg[0], { ... }) end
-- nsbox.oci translates the config; CMD, when given, replaces its process.args.
local oci = require "nsbox.oci"

return function(args, program)
  if not args[1] then error("usage: " .. program .. " BUNDLE [CMD [ARG...]]", 0) end
  -- Called through pcall, a refusal reads as its message alone, without this line's position.
  local ok, recipe, argv = pcall(oci.load, args[1])
  if not ok then error(recipe, 0) end
  if not recipe then error(argv, 0) end
  if #args > 1 then argv = table.move(args, 2, #args, 1, {}) end
  return recipe, argv
end
