-- nsbox.oci: an OCI runtime-spec bundle's config.json as an nsbox recipe table.
--
--   local oci = require "nsbox.oci"
--   local recipe, argv = oci.load("bundle")        -- or nil, message
--   nsbox.run(nsbox.recipe(recipe, { hostname = "mine" }), argv)
--
-- Every field of config.json is translated or refused with an error naming it:
-- a container quietly started with less confinement than its config asks for
-- would be worse than one that does not start. Only ociVersion and annotations,
-- which ask nothing of the runtime, pass unread. Fields are named the way jq
-- names them, counting array items from 0, so that `jq '.linux.namespaces[4]'
-- config.json` shows the culprit.

local cjson = require "cjson"
local check = require "nsbox.check"

local M = {}

-- A refusal is a check.Invalid, as for a recipe: load and translate raise it
-- again at their caller's line (check.refusing), however deep it was found.
local invalid = check.invalid

local function because(why)
  return why and (" (" .. why .. ")") or ""
end

local function unsupported(path, why)
  invalid("unsupported field '%s'%s", path, because(why))
end

local function unsupported_value(value, path, why)
  invalid("unsupported value '%s' in %s%s", check.shown(value), path, because(why))
end

local set_of, sorted_keys = check.set_of, check.sorted_names

-- ---- JSON paths and types ----

local field = check.key_path -- "linux.sysctl", "net.ipv4.ip_forward" -> 'linux.sysctl["net.ipv4.ip_forward"]'

local function item(path, i)
  return ("%s[%d]"):format(path, i - 1)
end

-- The spec reads null as absent. Null array items stay, to be reported where
-- they are read: dropping them would shift the items after them.
local function without_nulls(value)
  if type(value) ~= "table" then return value end
  local copy = {}
  for k, v in pairs(value) do
    if not (v == cjson.null and type(k) == "string") then copy[k] = without_nulls(v) end
  end
  return copy
end

local function describe(value)
  if value == nil then return "nothing" end
  if value == cjson.null then return "null" end
  if type(value) == "table" then return (next(value) == nil or value[1] ~= nil) and "an array" or "an object" end
  if type(value) == "string" then return "a string" end
  return tostring(math.tointeger(value) or value)
end

local function is_array(value)
  if type(value) ~= "table" then return false end
  local n = #value
  for k in pairs(value) do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
  end
  return true
end

local function is_object(value)
  if type(value) ~= "table" then return false end
  for k in pairs(value) do
    if type(k) ~= "string" then return false end
  end
  return true
end

local function expect(ok, value, what, path)
  if not ok then invalid("'%s' must be %s, got %s", path == "" and "config.json" or path, what, describe(value)) end
  return value
end

local function str(value, path) return expect(type(value) == "string", value, "a string", path) end
local function bool(value, path) return expect(type(value) == "boolean", value, "a boolean", path) end
local function array(value, path) return expect(is_array(value), value, "an array", path) end

-- cjson reads every number as a float; recipes want integers.
local function integer(value, path, min, max)
  expect(type(value) == "number", value, ("an integer from %d to %d"):format(min, max), path)
  return check.integer(math.tointeger(value) or value, path, min, max)
end

local function id(value, path)
  return integer(value, path, 0, check.MAX_ID)
end

-- An object whose members must all be in known (when given): any other is refused by name.
local function object(value, path, known)
  expect(is_object(value), value, "an object", path)
  for _, key in ipairs(known and sorted_keys(value) or {}) do
    if not known[key] then unsupported(field(path, key)) end
  end
  return value
end

local function absolute(value, path)
  return check.absolute(str(value, path), path)
end

-- The items of an array, each passed through convert(item, its path).
local function each(list, path, convert)
  local out = {}
  for i, v in ipairs(array(list, path)) do out[i] = convert(v, item(path, i)) end
  return out
end

-- ---- bundle paths ----

-- From pwd(1) rather than $PWD, which is stale when whoever started us changed
-- directory without updating it; the shell checks $PWD against ".".
local function current_dir()
  local pipe = assert(io.popen("pwd"))
  local dir = pipe:read("l")
  pipe:close()
  if not dir then error("nsbox.oci: pwd printed nothing", 0) end
  return dir
end

local function clean(path)
  local parts = {}
  for part in path:gmatch("[^/]+") do
    if part ~= "." then parts[#parts + 1] = part end
  end
  return "/" .. table.concat(parts, "/")
end

-- The spec makes relative paths relative to the bundle; recipes take absolute ones.
local function resolve(path, bundle, where)
  if path:sub(1, 1) == "/" then return path end
  if not bundle then
    invalid("'%s' is relative ('%s'): pass the bundle directory, oci.translate(config, bundle_dir)", where, path)
  end
  return clean(bundle .. "/" .. path)
end

-- ---- linux.namespaces ----

local NAMESPACES = {
  cgroup = "cgroup", ipc = "ipc", mount = "mount", network = "net",
  pid = "pid", time = "time", user = "user", uts = "uts",
}

-- Types without a path are created, in `namespaces`; types with one are joined, in `join`.
local function namespaces(list, r)
  local ns, path = { created = {}, joined = {} }, "linux.namespaces"
  for i, entry in ipairs(array(list or {}, path)) do
    local at = item(path, i)
    object(entry, at, { type = true, path = true })
    local kind = str(entry.type, at .. ".type")
    local name = NAMESPACES[kind] or unsupported_value(kind, at .. ".type")
    if ns.created[name] or ns.joined[name] then invalid("'%s': namespace type '%s' is listed twice", at, kind) end
    if entry.path == nil then
      ns.created[name] = true
      r.namespaces[#r.namespaces + 1] = name
    else
      ns.joined[name] = absolute(entry.path, at .. ".path")
      r.join = r.join or {}
      r.join[name] = ns.joined[name]
    end
  end
  return ns
end

-- What path sets up happens inside the namespace, so it must be a new one:
-- setting it up in a joined namespace would change someone else's.
local function needs_new(ns, name, path)
  if ns.joined[name] then
    invalid("'%s' needs a new %s namespace, but linux.namespaces joins %s", path, name, ns.joined[name])
  elseif not ns.created[name] then
    invalid("'%s' needs a new %s namespace: add {\"type\": \"%s\"} to linux.namespaces", path, name, name)
  end
end

-- ---- root ----

-- The rootfs lives in a mount namespace of its own, added when the config lists none.
local function root(rt, r, ns, bundle)
  object(rt, "root", { path = true, readonly = true })
  r.rootfs = resolve(str(rt.path, "root.path"), bundle, "root.path")
  if rt.readonly ~= nil then r.rootfs_readonly = bool(rt.readonly, "root.readonly") end
  if not ns.created.mount and not ns.joined.mount then
    ns.created.mount = true
    r.namespaces[#r.namespaces + 1] = "mount"
  end
  needs_new(ns, "mount", "root.path")
end

-- ---- process ----

local function environment(list)
  local env = {}
  for i, entry in ipairs(each(list, "process.env", str)) do
    local name, value = entry:match("^([^=]+)=(.*)$")
    if not name then invalid("'%s' must be NAME=VALUE, got '%s'", item("process.env", i), entry) end
    env[name] = value
  end
  return env
end

local function user(u, r)
  local path = "process.user"
  object(u, path, { uid = true, gid = true, additionalGids = true, umask = true })
  r.user = { uid = id(u.uid, path .. ".uid"), gid = id(u.gid, path .. ".gid") }
  -- OCI means the same by an absent and an empty list: no supplementary groups.
  local groups = each(u.additionalGids or {}, path .. ".additionalGids", id)
  if #groups > 0 then r.user.groups = groups end
  if u.umask ~= nil then r.umask = integer(u.umask, path .. ".umask", 0, 511) end
end

local CAP_SETS = { "bounding", "effective", "permitted", "inheritable", "ambient" }

local function cap_name(name, path)
  if not str(name, path):match("^CAP_[%u%d_]+$") then unsupported_value(name, path) end
  return name:lower()
end

local function same_set(a, b)
  local in_a, in_b = set_of(a), set_of(b)
  for name in pairs(in_a) do if not in_b[name] then return false end end
  for name in pairs(in_b) do if not in_a[name] then return false end end
  return true
end

-- An absent set is empty, as in OCI. The sets collapse into caps.keep only when
-- that changes nothing: the four equal, and ambient equal too unless the uid is
-- 0 -- keep raises ambient only for another uid, and root's ambient set adds
-- nothing (its permitted set comes from the bounding set at exec).
local function capabilities(c, uid)
  local path = "process.capabilities"
  object(c, path, set_of(CAP_SETS))
  local sets = {}
  for _, set in ipairs(CAP_SETS) do sets[set] = each(c[set] or {}, field(path, set), cap_name) end
  -- The kernel raises an ambient capability only when it is also permitted and
  -- inheritable; crun goes on without the others, and so does the translation.
  local allowed, inheritable = set_of(sets.permitted), set_of(sets.inheritable)
  local ambient = {}
  for _, name in ipairs(sets.ambient) do
    if allowed[name] and inheritable[name] then ambient[#ambient + 1] = name end
  end
  sets.ambient = ambient
  for _, set in ipairs(CAP_SETS) do
    if not same_set(sets[set], sets.bounding) and not (set == "ambient" and uid == 0) then return sets end
  end
  return { keep = sets.bounding }
end

local RLIMITS = set_of(require("nsbox.privileges").RLIMITS)
-- RLIM_INFINITY, 18446744073709551615 in config.json, as cjson reads it.
local RLIM_INFINITY = 2.0 ^ 64

local function limit(value, path)
  if value == RLIM_INFINITY then return "unlimited" end
  return integer(value, path, 0, math.maxinteger)
end

local function rlimits(list)
  local out, path = {}, "process.rlimits"
  for i, entry in ipairs(array(list, path)) do
    local at = item(path, i)
    object(entry, at, { type = true, soft = true, hard = true })
    local kind = str(entry.type, at .. ".type")
    local name = (kind:match("^RLIMIT_(%u+)$") or ""):lower()
    if not RLIMITS[name] then unsupported_value(kind, at .. ".type") end
    if out[name] then invalid("'%s': %s is listed twice", at, kind) end
    out[name] = { limit(entry.soft, at .. ".soft"), limit(entry.hard, at .. ".hard") }
  end
  return out
end

local PROCESS = set_of { "terminal", "user", "args", "env", "cwd", "capabilities", "rlimits", "noNewPrivileges" }

-- The command's environment is process.env and nothing else, so clearenv
-- holds even when env is absent.
local function process(p, r)
  object(p, "process", PROCESS)
  if p.terminal ~= nil and bool(p.terminal, "process.terminal") then r.tty = true end
  if p.args ~= nil then
    r.argv = each(p.args, "process.args", str)
    if #r.argv == 0 then invalid("'process.args' must not be empty") end
  end
  r.clearenv = true
  if p.env ~= nil then r.env = environment(p.env) end
  if p.cwd ~= nil then r.cwd = absolute(p.cwd, "process.cwd") end
  if p.user ~= nil then user(p.user, r) end
  if p.capabilities ~= nil then r.caps = capabilities(p.capabilities, r.user and r.user.uid or 0) end
  if p.rlimits ~= nil then r.rlimits = rlimits(p.rlimits) end
  if p.noNewPrivileges ~= nil then r.no_new_privs = bool(p.noNewPrivileges, "process.noNewPrivileges") end
end

-- ---- mounts ----

-- The per-mount flags, the ones a bind remount (MS_REMOUNT | MS_BIND) can set.
local FLAGS = set_of {
  "ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec",
  "noatime", "atime", "nodiratime", "diratime", "relatime", "norelatime", "strictatime",
}
-- Not options of the new mount but changes made to it afterwards: given to
-- mount(2) with the filesystem they would stop it from being mounted at all.
local PROPAGATION = set_of {
  "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable",
}

-- Every mount option a bind or pseudo filesystem takes (`nsbox features` lists them).
M.MOUNT_OPTIONS = sorted_keys(FLAGS)
for _, word in ipairs(sorted_keys(PROPAGATION)) do M.MOUNT_OPTIONS[#M.MOUNT_OPTIONS + 1] = word end
table.insert(M.MOUNT_OPTIONS, "bind")
table.insert(M.MOUNT_OPTIONS, "rbind")
table.sort(M.MOUNT_OPTIONS)

-- A mount's options, sorted: bind/rbind, propagation changes, and the rest in
-- order (words, with where each was found for refusals).
local function sort_options(list, path)
  local o = { propagation = {}, words = {}, at = {} }
  for i, word in ipairs(each(list or {}, path, str)) do
    if word == "bind" or word == "rbind" then
      o.bind, o.recursive = true, o.recursive or word == "rbind"
    elseif PROPAGATION[word] then
      o.propagation[#o.propagation + 1] = word
    else
      o.words[#o.words + 1], o.at[word] = word, item(path, i)
    end
  end
  return o
end

-- The kinds without an options key take flags from a bind remount right after.
local function with_flags(entry, o)
  local options = { "remount", "bind" }
  for _, word in ipairs(o.words) do
    if FLAGS[word] and word ~= "rw" then options[#options + 1] = word end
  end
  if #options == 2 then return { entry } end
  return { entry, { type = "mount", target = entry.target, options = options } }
end

-- dev_bind: an OCI bind has exactly the flags its options list, and nsbox's
-- plain bind would add nodev of its own.
local function bind(m, o, path, bundle)
  local entry = { type = "dev_bind", target = m.destination, recursive = o.recursive or false,
    source = resolve(str(m.source, path .. ".source"), bundle, path .. ".source") }
  for _, word in ipairs(o.words) do
    if not FLAGS[word] then unsupported_value(word, o.at[word]) end
    if word == "ro" or word == "rw" then entry.readonly = word == "ro" or nil end
  end
  return with_flags(entry, o)
end

-- proc, sysfs and mqueue take no filesystem options, but for proc's hidepid.
local function pseudo_fs(m, o)
  local entry = { type = m.type, target = m.destination }
  for _, word in ipairs(o.words) do
    local hidepid = m.type == "proc" and word:match("^hidepid=(.+)$")
    if hidepid then
      entry.hidepid = tonumber(hidepid, 10) or hidepid
    elseif not FLAGS[word] then
      unsupported_value(word, o.at[word])
    end
  end
  return with_flags(entry, o)
end

local TMPFS_KEYS = { size = "^%d+[kKmMgG%%]?$", mode = "^[0-7]+$", uid = "^%d+$", gid = "^%d+$" }

-- Whether the directory at path holds nothing (or is not there).
local function empty_dir(path)
  local pipe = io.popen("ls -A -- '" .. path:gsub("'", "'\\''") .. "' 2>/dev/null")
  local first = pipe:read("l")
  pipe:close()
  return first == nil
end

-- tmpcopyup (podman's --read-only /tmp, /run, /var/tmp) copies what the rootfs has there into the new
-- tmpfs: nsbox copies nothing, so it takes the option only where there is nothing to copy.
local function tmpcopyup(m, at, rootfs)
  local dir = (rootfs or "") .. m.destination
  if not rootfs or not empty_dir(dir) then
    unsupported_value("tmpcopyup", at, ("nsbox copies nothing into a tmpfs, and %s is not empty"):format(dir))
  end
end

local function tmpfs(m, o, _, rootfs)
  local entry, options = { type = "tmpfs", target = m.destination }, {}
  for _, word in ipairs(o.words) do
    local key, value = word:match("^(%a+)=(.*)$")
    if word == "tmpcopyup" then
      tmpcopyup(m, o.at[word], rootfs)
    elseif TMPFS_KEYS[key] and value:match(TMPFS_KEYS[key]) then
      entry[key] = (key == "uid" or key == "gid") and tonumber(value) or value
    else
      options[#options + 1] = word
    end
  end
  entry.options = #options > 0 and options or nil
  return { entry }
end

local function devpts(m, o)
  return { { type = "devpts", target = m.destination, options = #o.words > 0 and o.words or nil } }
end

-- Runtimes make /dev a tmpfs and fill it with the spec's default devices:
-- that is what nsbox's minimal /dev is, so it stands in for the tmpfs, which
-- may have only the options the runtimes write for it.
local DEV_OPTIONS = set_of { "nosuid", "noexec", "strictatime", "mode=755", "size=65536k" } -- nsbox's is nosuid, noexec

local function dev(_, o)
  for _, word in ipairs(o.words) do
    if not DEV_OPTIONS[word] then unsupported_value(word, o.at[word], "nsbox makes /dev itself") end
  end
  return { { type = "dev", target = "/dev", tty = true } } -- the spec's default devices include /dev/tty
end

-- The runtimes give a "cgroup" mount the host's kind of hierarchy; nsbox
-- mounts the unified one, which every kernel it runs on has.
local function filesystem(m, o, path)
  local source = m.source ~= nil and str(m.source, path .. ".source") or m.type
  return { { type = "mount", fstype = m.type == "cgroup" and "cgroup2" or m.type, source = source,
    target = m.destination, options = #o.words > 0 and o.words or nil } }
end

local KINDS = { proc = pseudo_fs, sysfs = pseudo_fs, mqueue = pseudo_fs, tmpfs = tmpfs, devpts = devpts }

-- One OCI mount: one to three recipe mounts.
local function mount(m, path, bundle, rootfs)
  object(m, path, { destination = true, source = true, type = true, options = true })
  absolute(m.destination, path .. ".destination")
  local o = sort_options(m.options, path .. ".options")
  local entries
  if o.bind or m.type == "bind" then
    entries = bind(m, o, path, bundle)
  else
    local kind = str(m.type, path .. ".type")
    local kind_of = (kind == "tmpfs" and m.destination == "/dev") and dev or KINDS[kind] or filesystem
    entries = kind_of(m, o, path, rootfs)
  end
  for _, word in ipairs(o.propagation) do
    entries[#entries + 1] = { type = "mount", target = m.destination, options = { word } }
  end
  return entries
end

local function mounts(list, r, ns, bundle)
  r.mounts = {}
  for i, m in ipairs(array(list, "mounts")) do
    for _, entry in ipairs(mount(m, item("mounts", i), bundle, r.rootfs)) do r.mounts[#r.mounts + 1] = entry end
  end
  if #r.mounts > 0 then needs_new(ns, "mount", "mounts") end
end

-- ---- linux ----

local function id_map(list, path)
  return each(list, path, function(e, at)
    object(e, at, { containerID = true, hostID = true, size = true })
    return { inside = id(e.containerID, at .. ".containerID"), outside = id(e.hostID, at .. ".hostID"),
      count = integer(e.size, at .. ".size", 1, 0xFFFFFFFF) }
  end)
end

local function id_maps(l, r, ns)
  for _, keys in ipairs { { "uidMappings", "uid_map" }, { "gidMappings", "gid_map" } } do
    local path = "linux." .. keys[1]
    if l[keys[1]] ~= nil then
      needs_new(ns, "user", path)
      r[keys[2]] = id_map(l[keys[1]], path)
    end
  end
end

local function time_offsets(offsets, r, ns)
  local path = "linux.timeOffsets"
  object(offsets, path, { monotonic = true, boottime = true })
  needs_new(ns, "time", path)
  r.time = {}
  for clock, offset in pairs(offsets) do
    local at = field(path, clock)
    object(offset, at, { secs = true, nanosecs = true })
    local secs = integer(offset.secs or 0, at .. ".secs", math.mininteger, math.maxinteger)
    local nanos = integer(offset.nanosecs or 0, at .. ".nanosecs", 0, 999999999)
    r.time[clock] = nanos == 0 and secs or secs + nanos / 1e9
  end
end

local function sysctl(map, r)
  r.sysctl = {}
  for name, value in pairs(object(map, "linux.sysctl")) do r.sysctl[name] = str(value, field("linux.sysctl", name)) end
end

local ROOTFS_PROPAGATION = {
  private = "private", rprivate = "private", slave = "slave", rslave = "slave", shared = "shared", rshared = "shared",
}

local function mount_tree(l, r, ns)
  local path = "linux.rootfsPropagation"
  if l.rootfsPropagation ~= nil then
    r.propagation = ROOTFS_PROPAGATION[str(l.rootfsPropagation, path)] or unsupported_value(l.rootfsPropagation, path)
    needs_new(ns, "mount", path)
  end
  for _, keys in ipairs { { "maskedPaths", "masked" }, { "readonlyPaths", "readonly" } } do
    path = "linux." .. keys[1]
    if l[keys[1]] ~= nil then
      r[keys[2]] = each(l[keys[1]], path, absolute)
      needs_new(ns, "mount", path)
    end
  end
end

-- ---- linux.seccomp ----

local SECCOMP = set_of { "defaultAction", "defaultErrnoRet", "architectures", "flags", "syscalls" }
local SECCOMP_SYSCALL = set_of { "names", "action", "errnoRet", "args" }
local SECCOMP_ARG = set_of { "index", "value", "valueTwo", "op" }
local SECCOMP_ACTIONS = {
  SCMP_ACT_ALLOW = "allow", SCMP_ACT_ERRNO = "errno", SCMP_ACT_KILL = "kill", SCMP_ACT_KILL_THREAD = "kill_thread",
  SCMP_ACT_KILL_PROCESS = "kill_process", SCMP_ACT_TRAP = "trap", SCMP_ACT_LOG = "log",
}
-- TSYNC synchronizes the filter over a process's threads: the command's process has one.
local SECCOMP_FLAGS = {
  SECCOMP_FILTER_FLAG_LOG = "log", SECCOMP_FILTER_FLAG_SPEC_ALLOW = "spec_allow", SECCOMP_FILTER_FLAG_TSYNC = false,
}

local function seccomp_action(value, path)
  return SECCOMP_ACTIONS[str(value, path)] or unsupported_value(value, path)
end

local function seccomp_arch(value, path)
  local name = (str(value, path):match("^SCMP_ARCH_(.+)$") or ""):lower()
  if not set_of(require("nsbox.seccomp").ARCHITECTURES)[name] then unsupported_value(value, path) end
  return name
end

-- Arguments are 64-bit: JSON numbers past 2^63 do not reach us whole.
local function seccomp_arg(a, path)
  object(a, path, SECCOMP_ARG)
  local op = str(a.op, field(path, "op")):match("^SCMP_CMP_(.+)$")
  if not op or not set_of(require("nsbox.seccomp").OPS)[op:lower()] then unsupported_value(a.op, field(path, "op")) end
  local out = { index = integer(a.index, field(path, "index"), 0, 5), op = op:lower(),
    value = integer(a.value or 0, field(path, "value"), math.mininteger, math.maxinteger) }
  -- Only masked_eq reads valueTwo; podman writes 0 in every argument.
  if out.op == "masked_eq" then out.value2 = integer(a.valueTwo or 0, field(path, "valueTwo"), 0, math.maxinteger) end
  return out
end

-- A syscalls entry as a rule. Names this libseccomp knows on no architecture
-- are left out, as crun and runc leave them out: profiles list calls newer
-- than some of the kernels they run on. Nil when no name is left.
local function seccomp_rule(s, path)
  object(s, path, SECCOMP_SYSCALL)
  local rule = { action = seccomp_action(s.action, field(path, "action")), syscalls = {} }
  for _, name in ipairs(each(s.names, field(path, "names"), str)) do
    if require("nsbox.core").seccomp_known(name) then rule.syscalls[#rule.syscalls + 1] = name end
  end
  -- Without errnoRet, EPERM: the profile's defaultErrnoRet is its default action's alone.
  if rule.action == "errno" then rule.errno = integer(s.errnoRet or 1, field(path, "errnoRet"), 0, 4095) end
  if s.args ~= nil then rule.args = each(s.args, field(path, "args"), seccomp_arg) end
  return #rule.syscalls > 0 and rule or nil
end

-- A call given two unconditional actions (podman's profile allows setns, then denies it with EPERM): runc
-- and crun keep the first, as libseccomp does, where nsbox's seccomp key refuses the pair. The later
-- rule loses the call here, and the rule itself if that was its only one.
local function first_unconditional_wins(rules)
  local taken, kept = {}, {}
  for _, rule in ipairs(rules) do
    if not rule.args then
      local names = {}
      for _, name in ipairs(rule.syscalls) do
        if not taken[name] then names[#names + 1] = name end
        taken[name] = true
      end
      rule.syscalls = names
    end
    if #rule.syscalls > 0 then kept[#kept + 1] = rule end
  end
  return kept
end

-- A rule comparing one argument more than once (runtime-tools' default profile allows personality 0, 8 or
-- 0xffffffff in one rule) means any of them to runc and crun: one rule per comparison, as they make.
local function alternatives(rule)
  if not rule then return {} end
  local seen, repeated = {}, false
  for _, a in ipairs(rule.args or {}) do
    repeated = repeated or seen[a.index]
    seen[a.index] = true
  end
  if not repeated then return { rule } end
  local rules = {}
  for i, a in ipairs(rule.args) do
    rules[i] = { action = rule.action, errno = rule.errno, syscalls = rule.syscalls, args = { a } }
  end
  return rules
end

local function seccomp(sc, path)
  object(sc, path, SECCOMP)
  local p = { default = seccomp_action(sc.defaultAction, field(path, "defaultAction")), rules = {}, flags = {} }
  if sc.defaultErrnoRet ~= nil then p.errno = integer(sc.defaultErrnoRet, field(path, "defaultErrnoRet"), 0, 4095) end
  if sc.architectures ~= nil then
    p.architectures = each(sc.architectures, field(path, "architectures"), seccomp_arch)
  end
  for _, flag in ipairs(each(sc.flags or {}, field(path, "flags"), str)) do
    if SECCOMP_FLAGS[flag] == nil then unsupported_value(flag, field(path, "flags")) end
    p.flags[#p.flags + 1] = SECCOMP_FLAGS[flag] or nil
  end
  for i, s in ipairs(array(sc.syscalls or {}, field(path, "syscalls"))) do
    for _, rule in ipairs(alternatives(seccomp_rule(s, item(field(path, "syscalls"), i)))) do
      p.rules[#p.rules + 1] = rule
    end
  end
  p.rules = first_unconditional_wins(p.rules)
  return p
end

local LINUX = set_of {
  "namespaces", "uidMappings", "gidMappings", "timeOffsets", "resources", "sysctl",
  "rootfsPropagation", "maskedPaths", "readonlyPaths", "seccomp", "cgroupsPath",
}

-- linux, but for namespaces (read first, since the rest depends on them) and
-- resources (read last, since they depend on the rest).
local function linux(l, r, ns)
  id_maps(l, r, ns)
  if l.timeOffsets ~= nil then time_offsets(l.timeOffsets, r, ns) end
  if l.sysctl ~= nil then sysctl(l.sysctl, r) end
  if l.seccomp ~= nil then r.seccomp = seccomp(l.seccomp, "linux.seccomp") end
  mount_tree(l, r, ns)
end

-- ---- linux.resources and linux.cgroupsPath: the cgroup key ----

-- Runtimes read a zero (and cgroup v1's -1, "unlimited") as a limit not set: a new cgroup has none.
local function given(value, path, min, max)
  if value == nil then return nil end
  local n = integer(value, path, -1, max)
  return n >= min and n or nil
end

local MAX_BYTES = 1 << 62

local function memory(m, limits, path)
  object(m, path, { limit = true, reservation = true, swap = true, disableOOMKiller = true })
  limits.memory = given(m.limit, field(path, "limit"), 0, MAX_BYTES)
  limits.memory_swap = given(m.swap, field(path, "swap"), 0, MAX_BYTES)
  limits.memory_reservation = given(m.reservation, field(path, "reservation"), 0, MAX_BYTES)
  -- Docker writes false in every config; true would need v1's memory.oom_control, which nsbox does not write.
  if m.disableOOMKiller ~= nil and bool(m.disableOOMKiller, field(path, "disableOOMKiller")) then
    unsupported_value(true, field(path, "disableOOMKiller"))
  end
end

local function cpu(c, limits, path)
  object(c, path, { shares = true, quota = true, period = true, cpus = true, mems = true })
  limits.cpu_shares = given(c.shares, field(path, "shares"), 1, 262144)
  local quota = given(c.quota, field(path, "quota"), 1, 1 << 40)
  local period = given(c.period, field(path, "period"), 1, 1 << 40)
  if quota or period then limits.cpu = { quota = quota, period = period } end
  for key, name in pairs { cpus = "cpuset", mems = "cpuset_mems" } do
    if c[key] ~= nil and str(c[key], field(path, key)) ~= "" then limits[name] = c[key] end
  end
end

local THROTTLES = { throttleReadBpsDevice = "rbps", throttleWriteBpsDevice = "wbps",
  throttleReadIOPSDevice = "riops", throttleWriteIOPSDevice = "wiops" }

-- The four throttle lists, {major, minor, rate} each, as one io_max map by device.
local function block_io(b, limits, path)
  local known = set_of { "weight" }
  for key in pairs(THROTTLES) do known[key] = true end
  object(b, path, known)
  limits.blkio_weight = given(b.weight, field(path, "weight"), 1, 1000)
  for _, key in ipairs(sorted_keys(THROTTLES)) do
    for i, d in ipairs(array(b[key] or {}, field(path, key))) do
      local at = item(field(path, key), i)
      object(d, at, { major = true, minor = true, rate = true })
      local device = ("%d:%d"):format(integer(d.major, at .. ".major", 0, 0xFFFFFFFF),
        integer(d.minor, at .. ".minor", 0, 0xFFFFFFFF))
      limits.io_max = limits.io_max or {}
      limits.io_max[device] = limits.io_max[device] or {}
      limits.io_max[device][THROTTLES[key]] = given(d.rate, at .. ".rate", 1, MAX_BYTES)
    end
  end
end

local function hugepages(list, limits, path)
  for i, h in ipairs(array(list, path)) do
    local at = item(path, i)
    object(h, at, { pageSize = true, limit = true })
    limits.hugetlb = limits.hugetlb or {}
    limits.hugetlb[str(h.pageSize, at .. ".pageSize")] = integer(h.limit, at .. ".limit", 0, MAX_BYTES)
  end
end

-- What crun allows after a config's own rules: making any node, and the spec's default devices
-- (null, zero, full, random, urandom, tty, console, ptmx and the ptys).
local DEFAULT_DEVICES = { "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:8 rwm", "c 1:7 rwm", "c 5:0 rwm", "c 1:5 rwm",
  "c 1:9 rwm", "c 5:1 rwm", "c 136:* rwm", "c 5:2 rwm" }

local function device_rule(rule, path)
  object(rule, path, { allow = true, type = true, major = true, minor = true, access = true })
  local verb = bool(rule.allow, path .. ".allow") and "allow" or "deny"
  local kind = rule.type == nil and "a" or str(rule.type, path .. ".type")
  if kind == "a" then return verb .. " a" end -- the kernel reads "a" as every device, whatever follows it
  if kind ~= "b" and kind ~= "c" then unsupported_value(kind, path .. ".type") end
  local function number(key)
    if rule[key] == nil then return "*" end
    local n = integer(rule[key], path .. "." .. key, -1, 0xFFFFFFF)
    return n == -1 and "*" or tostring(n)
  end
  local access = rule.access == nil and "rwm" or str(rule.access, path .. ".access")
  if not access:match("^[rwm]+$") then unsupported_value(access, path .. ".access") end
  return ("%s %s %s:%s %s"):format(verb, kind, number("major"), number("minor"), access)
end

local function denies_all(rules) return #rules == 1 and rules[1] == "deny a" end

local function has_minimal_dev(r)
  for _, m in ipairs(r.mounts or {}) do
    if m.type == "dev" then return true end
  end
  return false
end

local function may_mknod(r)
  local set = r.caps and (r.caps.keep or r.caps.bounding)
  return not set or set_of(set).cap_mknod == true
end

-- The device rules in the v1 devices controller, followed by crun's defaults, where the caller may
-- write one. Elsewhere (cgroup v2 would need an eBPF program; a caller without a writable cgroup)
-- only the shapes engines pass are accepted: allow-all, which a new cgroup is anyway, and
-- deny-all, which holds without a cgroup as long as the command's /dev is nsbox's minimal one (a
-- tmpfs on /dev) and it cannot make nodes elsewhere (no CAP_MKNOD in the bounding set).
local function devices(list, limits, r, path, no_cgroups)
  local rules = each(list, path, device_rule)
  if #rules == 0 or #rules == 1 and rules[1] == "allow a" then return end
  local ok, why = false, no_cgroups
  if not no_cgroups then ok, why = require("nsbox.cgroups").devices_possible() end
  if ok then
    limits.devices = rules
    for _, rule in ipairs(DEFAULT_DEVICES) do limits.devices[#limits.devices + 1] = "allow " .. rule end
    return
  end
  local holds = "the deny-all rule holds without a device cgroup only"
  if not denies_all(rules) then
    unsupported(path, ("%s; without one nsbox accepts only allow-all and deny-all"):format(why))
  elseif not has_minimal_dev(r) then
    unsupported(item(path, 1), holds .. " when a tmpfs on /dev gives nsbox's minimal /dev")
  elseif may_mknod(r) then
    unsupported(item(path, 1), holds .. " without CAP_MKNOD in process.capabilities.bounding")
  end
end

local RESOURCES = set_of { "devices", "memory", "cpu", "pids", "blockIO", "hugepageLimits", "unified" }

-- no_cgroups: why the caller makes none (nsbox's runtime with --cgroup-manager=disabled), or nil.
local function resources(res, r, no_cgroups)
  local path, limits = "linux.resources", {}
  object(res, path, RESOURCES)
  if res.memory ~= nil then memory(res.memory, limits, field(path, "memory")) end
  if res.cpu ~= nil then cpu(res.cpu, limits, field(path, "cpu")) end
  if res.pids ~= nil then
    object(res.pids, field(path, "pids"), { limit = true })
    limits.pids = given(res.pids.limit, "linux.resources.pids.limit", 1, 4194304)
  end
  if res.blockIO ~= nil then block_io(res.blockIO, limits, field(path, "blockIO")) end
  if res.hugepageLimits ~= nil then hugepages(res.hugepageLimits, limits, field(path, "hugepageLimits")) end
  if res.devices ~= nil then devices(res.devices, limits, r, field(path, "devices"), no_cgroups) end
  local unified = res.unified ~= nil and object(res.unified, field(path, "unified")) or nil
  if not (next(limits) or unified and next(unified)) then return end
  if no_cgroups then unsupported(path, no_cgroups) end
  r.cgroup = { limits = limits, unified = unified }
end

-- runc's meaning: absolute from the hierarchies' root, relative from the caller's cgroup (nsbox makes
-- cgroups only beneath the caller's: nsbox.cgroups refuses an absolute path elsewhere).
local function cgroups_path(value, r, no_cgroups)
  local path = str(value, "linux.cgroupsPath")
  if no_cgroups then unsupported("linux.cgroupsPath", no_cgroups) end
  if path:match("^[^/:]*:[^/:]*:[^/:]*$") then
    unsupported_value(path, "linux.cgroupsPath", 'systemd\'s "slice:prefix:name" form needs the systemd cgroup '
      .. "manager; nsbox manages cgroups itself and takes a path")
  end
  if path ~= "" then
    r.cgroup = r.cgroup or {}
    r.cgroup.path = path
  end
end

-- ---- the whole config ----

local function uts_names(cfg, r, ns)
  for _, key in ipairs { "hostname", "domainname" } do
    -- Runtimes read an empty name as no name.
    if cfg[key] ~= nil and cfg[key] ~= "" then
      r[key] = str(cfg[key], key)
      needs_new(ns, "uts", key)
    end
  end
end

local CONFIG = set_of { "ociVersion", "annotations", "process", "root", "hostname", "domainname", "mounts", "linux" }

local function translate(config, bundle, options)
  local no_cgroups = options and options.cgroups == false and "its caller makes no cgroups" or nil
  -- Once here, not per relative path: pwd is a process of its own.
  if bundle and bundle:sub(1, 1) ~= "/" then bundle = current_dir() .. "/" .. bundle end
  -- Read raw and bounded, as nsbox.recipe reads a recipe: no metamethod of the caller's runs.
  local cfg = object(without_nulls(check.plain(config, "")), "", CONFIG)
  local l = object(cfg.linux or {}, "linux", LINUX)
  local r = { namespaces = {} }
  local ns = namespaces(l.namespaces, r)
  if cfg.root ~= nil then root(cfg.root, r, ns, bundle) end
  linux(l, r, ns)
  if cfg.process ~= nil then process(cfg.process, r) end
  if cfg.mounts ~= nil then mounts(cfg.mounts, r, ns, bundle) end
  uts_names(cfg, r, ns)
  if l.resources ~= nil then resources(l.resources, r, no_cgroups) end
  if l.cgroupsPath ~= nil then cgroups_path(l.cgroupsPath, r, no_cgroups) end
  return r
end

-- oci.translate(config, bundle_dir, options) -> recipe table: config is config.json
-- decoded; bundle_dir, needed when config has relative paths, anchors them;
-- options.cgroups = false: for a caller that makes no cgroups, linux.resources
-- but for the device shapes that hold without one, and cgroupsPath, are refused.
function M.translate(config, bundle_dir, options)
  if type(config) ~= "table" then
    error("nsbox.oci: translate expects config.json decoded into a table, got " .. type(config), 2)
  end
  if bundle_dir ~= nil and type(bundle_dir) ~= "string" then
    error("nsbox.oci: the bundle directory must be a string, got " .. type(bundle_dir), 2)
  end
  return check.refusing("nsbox.oci: ", translate, config, bundle_dir, options)
end

-- oci.seccomp_profile(json_text, path) -> the seccomp key's profile | nil,
-- message: a profile file in linux.seccomp's shape, as Docker's and podman's are.
function M.seccomp_profile(text, path)
  local ok, decoded = pcall(cjson.decode, text)
  if not ok then return nil, ("%s: invalid JSON: %s"):format(path, decoded) end
  local translated
  ok, translated = pcall(function() return seccomp(without_nulls(check.plain(decoded, "")), "") end)
  if ok then return translated end
  if getmetatable(translated) ~= check.Invalid then error(translated, 0) end
  return nil, translated.message
end

local function read_config(path)
  local file, message = io.open(path)
  if not file then return nil, message end
  local text, read_error = file:read("a")
  file:close()
  if not text then return nil, path .. ": " .. read_error end
  local ok, config = pcall(cjson.decode, text)
  if not ok then return nil, ("%s: invalid JSON: %s"):format(path, config) end
  if type(config) ~= "table" then return nil, path .. ": invalid config: not a JSON object" end
  return config
end

local function load(bundle_dir)
  local config, message = read_config((bundle_dir:gsub("/+$", "")) .. "/config.json")
  if not config then return nil, message end
  local r = translate(config, bundle_dir)
  return r, r.argv
end

-- oci.load(bundle_dir) -> recipe table, argv | nil, message when config.json
-- cannot be read or is not JSON.
function M.load(bundle_dir)
  if type(bundle_dir) ~= "string" then
    error("nsbox.oci: load expects the bundle directory, a string; got " .. type(bundle_dir), 2)
  end
  return check.refusing("nsbox.oci: ", load, bundle_dir)
end

return M
