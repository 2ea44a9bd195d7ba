-- nsbox.network: the concern of a new net namespace's interfaces: for now,
-- its loopback, brought up unless the recipe says loopback = false.

local check = require "nsbox.check"

local M = {}

M.KEYS = { loopback = "value" }

function M.validate(t, r, has)
  r.loopback = check.boolean(t, "loopback")
  if r.loopback then check.needs(has, "net", "loopback") end
end

function M.compile(r, _, add)
  if check.set_of(r.namespaces).net and r.loopback ~= false then add { op = "loopback", desc = "bring lo up" } end
end

return M
