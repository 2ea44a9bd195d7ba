-- nsbox.hostname: the concern of the names a new UTS namespace gives the
-- sandbox: hostname and domainname.

local check = require "nsbox.check"

local M = {}

local HOST_NAME_MAX = 64

local function check_name(value, key)
  check.text(value, key)
  if #value == 0 or #value > HOST_NAME_MAX then
    check.invalid("'%s' must be 1 to %d bytes, got %d", key, HOST_NAME_MAX, #value)
  end
  return value
end

function M.validate(t, r, has)
  for _, key in ipairs { "hostname", "domainname" } do
    if t[key] ~= nil then r[key] = check_name(t[key], key); check.needs(has, "uts", key) end
  end
end

function M.compile(r, _, add)
  if r.hostname then add { op = "hostname", desc = "set hostname to " .. r.hostname, source = r.hostname } end
  if r.domainname then
    add { op = "domainname", desc = "set domain name to " .. r.domainname, source = r.domainname }
  end
end

return M
