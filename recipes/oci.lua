-- Run an OCI runtime-spec bundle: its config.json, translated by nsbox.oci, says what
-- to run and how; CMD, when given, replaces the config's process.args.
--   lua recipes/oci.lua BUNDLE [CMD [ARG...]]
local tree = (arg[0]:match("^(.*)/") or ".") .. "/.."  -- run from a checkout, or installed
package.path = tree .. "/lua/?.lua;" .. tree .. "/lua/?/init.lua;" .. package.path
package.cpath = tree .. "/build/?.so;" .. package.cpath
local nsbox = require "nsbox"
local oci = require "nsbox.oci"

nsbox.cli.main(function(args)
  if not args[1] then error("usage: lua recipes/oci.lua BUNDLE [CMD [ARG...]]", 0) end
  -- Called through pcall, a refusal reads as its message alone, without this line's position.
  local ok, recipe, argv = pcall(oci.load, args[1])
  if not ok then error(recipe, 0) end
  if not recipe then error(argv, 0) end
  if #args > 1 then argv = table.move(args, 2, #args, 1, {}) end
  return recipe, argv
end)
