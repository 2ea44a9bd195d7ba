-- nsbox.check: the shared vocabulary of recipe validation. A failure is
-- raised as an Invalid value so that nsbox.recipe can re-raise it at the
-- caller's line, whatever depth it was found at.

local M = {}

M.Invalid = {}

function M.invalid(fmt, ...)
  error(setmetatable({ message = string.format(fmt, ...) }, M.Invalid), 0)
end
local invalid = M.invalid

-- fn(...) for a public function: a refusal it raises is raised again as
-- prefix .. message at the line that called the public function, so that no
-- message points into nsbox. The public function must tail-call this
-- (`return check.refusing(...)`): its caller is then level 2 from here.
function M.refusing(prefix, fn, ...)
  local results = table.pack(pcall(fn, ...))
  if results[1] then return table.unpack(results, 2, results.n) end
  local err = results[2]
  if getmetatable(err) == M.Invalid then error(prefix .. err.message, 2) end
  error(err, 0)
end

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
-- The distance is at least the difference in lengths, so a name that far off
-- is skipped unmeasured: the work stays bounded by the known names' lengths,
-- however long word is.
function M.suggestion(word, names)
  local best, best_d = nil, math.max(2, #word // 3) + 1
  for _, name in ipairs(names) do
    if math.abs(#word - #name) < best_d then
      local d = distance(word, name)
      if d < best_d then best, best_d = name, d end
    end
  end
  return best and string.format(" (did you mean '%s'?)", best) or ""
end

-- A value as a message shows it: long strings cut short, control bytes escaped.
function M.shown(value)
  if type(value) ~= "string" then return tostring(value) end
  local text = #value > 80 and (value:sub(1, 80) .. "...") or value
  return (text:gsub("%c", function(c) return ("\\%d"):format(c:byte()) end))
end

-- The path of key inside where, the way a recipe writes it: mounts[2].options, env["A B"].
function M.key_path(where, key)
  if math.type(key) == "integer" then return ("%s[%d]"):format(where, key) end
  if type(key) == "string" and key:match("^[%a_][%w_]*$") then
    return where == "" and M.shown(key) or (where .. "." .. M.shown(key))
  end
  return ("%s[%s]"):format(where, type(key) == "string" and ('"' .. M.shown(key) .. '"') or M.shown(key))
end

function M.known_keys(t, known, where)
  local prefix = where and (where .. ": ") or ""
  for key in pairs(t) do
    if type(key) ~= "string" then invalid("%skeys must be strings, got %s", prefix, type(key)) end
    if not known[key] then
      invalid("%sunknown key '%s'%s", prefix, M.shown(key), M.suggestion(key, M.sorted_names(known)))
    end
  end
end

-- Beyond these a recipe is a mistake or an attack: no recipe nests deeper
-- than a few tables, and none needs a million values.
M.MAX_DEPTH, M.MAX_VALUES = 16, 1000000

-- A plain copy of value (the recipe data found at where; "" for a whole fragment), read raw: no
-- metamethod runs, since an __index that never returns nil, a lying __len or
-- __pairs would hang or exhaust what comes after. Cycles, deeper nesting than
-- MAX_DEPTH and more than MAX_VALUES values are refused, naming the key.
-- Everything after it can trust #, ipairs and pairs.
function M.plain(value, where)
  local count, open, keys = 0, {}, {}
  local function path(depth)
    local p = where
    for i = 1, depth do p = M.key_path(p, keys[i]) end
    return p
  end
  local function copy(v, depth)
    if type(v) ~= "table" then return v end
    if open[v] then invalid("'%s' contains itself: recipe data must not have cycles", path(depth)) end
    if depth >= M.MAX_DEPTH then invalid("'%s' nests tables more than %d deep", path(depth), M.MAX_DEPTH) end
    open[v] = true
    local out = {}
    for k, x in next, v do
      count = count + 1
      keys[depth + 1] = k
      if count > M.MAX_VALUES then invalid("'%s': more than %d values in all", path(depth + 1), M.MAX_VALUES) end
      out[k] = copy(x, depth + 1)
    end
    open[v] = nil
    return out
  end
  return copy(value, 0)
end

function M.type(value, expected, where)
  if type(value) ~= expected then invalid("'%s' must be a %s, got %s", where, expected, type(value)) end
  return value
end

-- A list without holes: # of a table with holes may be any of its borders,
-- and ipairs would stop at the first hole while C reads up to #.
function M.list(value, where)
  M.type(value, "table", where)
  local n, count = #value, 0
  for k in pairs(value) do
    if math.type(k) ~= "integer" or k < 1 or k > n then
      invalid("'%s' must be a list, got key %s", where, M.shown(k))
    end
    count = count + 1
  end
  if count < n then
    for i = 1, n do
      if value[i] == nil then invalid("'%s' must be a list, got a hole at [%d]", where, i) end
    end
  end
  return value
end

-- A list, each item checked (and normalized) by check_item(item, "where[i]").
function M.list_of(list, where, check_item)
  local out = {}
  for i, item in ipairs(M.list(list, where)) do out[i] = check_item(item, ("%s[%d]"):format(where, i)) end
  return out
end

-- A string the kernel reads as a C string, where a NUL byte would cut it short unseen.
function M.text(value, where)
  M.type(value, "string", where)
  if value:find("\0", 1, true) then invalid("'%s' must not contain a NUL byte", where) end
  return value
end

function M.string_list(value, where)
  for i, word in ipairs(M.list(value, where)) do M.text(word, ("%s[%d]"):format(where, i)) end
  return value
end

function M.absolute(path, where)
  M.text(path, where)
  if path:sub(1, 1) ~= "/" then invalid("'%s' must be an absolute path, got '%s'", where, M.shown(path)) end
  return path
end

-- An integer from min to max (what C will hold), as an integer; a float with
-- an integral value (2^31, or a number read from JSON) counts as one.
function M.integer(value, where, min, max, what)
  local n = math.type(value) and math.tointeger(value)
  if not n or n < min or n > max then
    invalid("'%s' must be %s from %d to %d, got %s", where, what or "an integer", min, max, M.shown(value))
  end
  return n
end

-- A uid or gid: 32 bits, but for (uid_t)-1, which means "no change" to the kernel.
M.MAX_ID = 0xFFFFFFFE

function M.id(value, where)
  return M.integer(value, where, 0, M.MAX_ID)
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
