-- nsbox.check: the shared vocabulary of recipe validation. A failure is
-- raised as an Invalid value so that nsbox.recipe can re-raise it at the
-- caller's line, whatever depth it was found at.

local M = {}

M.Invalid = {}

function M.invalid(fmt, ...)
  error(setmetatable({ message = string.format(fmt, ...) }, M.Invalid), 0)
end
local invalid = M.invalid

local function distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

function M.sorted_names(set)
  local names = {}
  for name in pairs(set) do names[#names + 1] = name end
  table.sort(names)
  return names
end

function M.set_of(list)
  local set = {}
  for _, v in ipairs(list) do set[v] = true end
  return set
end

-- " (did you mean 'hostname'?)" when one known name is close enough to word.
function M.suggestion(word, names)
  local best, best_d = nil, math.max(2, #word // 3) + 1
  for _, name in ipairs(names) do
    local d = distance(word, name)
    if d < best_d then best, best_d = name, d end
  end
  return best and string.format(" (did you mean '%s'?)", best) or ""
end

function M.known_keys(t, known, where)
  local prefix = where and (where .. ": ") or ""
  for key in pairs(t) do
    if type(key) ~= "string" then invalid("%skeys must be strings, got %s", prefix, type(key)) end
    if not known[key] then
      invalid("%sunknown key '%s'%s", prefix, key, M.suggestion(key, M.sorted_names(known)))
    end
  end
end

function M.type(value, expected, where)
  if type(value) ~= expected then invalid("'%s' must be a %s, got %s", where, expected, type(value)) end
  return value
end

function M.list(value, where)
  M.type(value, "table", where)
  local n = #value
  for k in pairs(value) do
    if math.type(k) ~= "integer" or k < 1 or k > n then
      invalid("'%s' must be a list, got key %s", where, tostring(k))
    end
  end
  return value
end

function M.string_list(value, where)
  for i, word in ipairs(M.list(value, where)) do M.type(word, "string", ("%s[%d]"):format(where, i)) end
  return value
end

function M.absolute(path, where)
  M.type(path, "string", where)
  if path:sub(1, 1) ~= "/" then invalid("'%s' must be an absolute path, got '%s'", where, path) end
  return path
end

function M.id(value, where)
  if math.type(value) ~= "integer" or value < 0 or value > 0xFFFFFFFE then
    invalid("'%s' must be an integer from 0 to 4294967294, got %s", where, tostring(value))
  end
  return value
end

-- "1777" (octal text) or an integer holding the mode bits.
function M.mode(value, where)
  local mode = value
  if type(value) == "string" then mode = value:match("^[0-7]+$") and tonumber(value, 8) end
  if math.type(mode) ~= "integer" or mode < 0 or mode > 4095 then
    invalid("'%s' must be an octal string like \"1777\" or an integer up to 4095, got %s", where, tostring(value))
  end
  return mode
end

-- key is only meaningful when the recipe creates (or joins) namespace.
function M.needs(has, namespace, key)
  if not has[namespace] then
    invalid("'%s' needs the '%s' namespace (add \"%s\" to namespaces)", key, namespace, namespace)
  end
end

function M.boolean(t, key, where)
  if t[key] == nil then return nil end
  return M.type(t[key], "boolean", where or key)
end

return M
