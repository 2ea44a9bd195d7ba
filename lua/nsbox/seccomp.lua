-- nsbox.seccomp: the recipe's system-call filter (the `seccomp` key), and
-- the profiles to use as its value: nsbox.seccomp.default, nsbox.seccomp.deny{...}.
--
-- A profile is plain data, checked here field by field before any fork and
-- compiled once per recipe, in the parent, into a BPF program by libseccomp
-- (csrc/seccomp.c). The child only installs that program, the last thing
-- before the command's exec: nsbox's own steps and nsbox-init, which reaps
-- and reports for the command, run unfiltered, so that a profile written for
-- the command cannot break them.

local core = require "nsbox.core"
local check = require "nsbox.check"
local privileges = require "nsbox.privileges"

local invalid = check.invalid

local M = {}

local NAMES = core.seccomp_names()
M.ACTIONS, M.ARCHITECTURES, M.OPS, M.FLAGS = NAMES.actions, NAMES.architectures, NAMES.ops, NAMES.flags

local MAX_ERRNO = 4095 -- the kernel passes larger SECCOMP_RET_DATA on as a plain return value
local MAX_INSNS = 4096 -- the most instructions one program may have (BPF_MAXINSNS)

local PROFILE_KEYS = check.set_of { "default", "errno", "rules", "architectures", "flags", "bpf" }
local RULE_KEYS = check.set_of { "action", "errno", "syscalls", "args", "if_caps", "unless_caps" }
local ARG_KEYS = check.set_of { "index", "op", "value", "value2" }

-- value must be one of names: an error naming where and the closest name otherwise.
local function one_of(value, names, where, what)
  check.text(value, where)
  for _, name in ipairs(names) do
    if value == name then return value end
  end
  invalid("'%s': unknown %s '%s'%s; known: %s", where, what, check.shown(value), check.suggestion(value, names),
    table.concat(names, ", "))
end

local errno_numbers, errno_names -- "EPERM" -> 1, and the names, loaded on first use
local function errnos()
  if not errno_numbers then
    errno_numbers, errno_names = {}, {}
    for number, name in pairs(core.errno_names()) do
      if not errno_numbers[name] then errno_names[#errno_names + 1] = name end
      errno_numbers[name] = math.min(errno_numbers[name] or number, number)
    end
    table.sort(errno_names)
  end
  return errno_numbers, errno_names
end

-- "EACCES" or a number up to MAX_ERRNO -> the number.
local function errno_value(value, where)
  if math.type(value) then return check.integer(value, where, 0, MAX_ERRNO, "an errno name or number") end
  check.text(value, where)
  local numbers, names = errnos()
  if not numbers[value] then
    invalid("'%s': unknown errno name '%s'%s", where, check.shown(value), check.suggestion(value, names))
  end
  return numbers[value]
end

local native_syscalls -- this architecture's names, for suggestions
local function syscall_name(name, where)
  check.text(name, where)
  if core.seccomp_known(name) then return name end
  native_syscalls = native_syscalls or core.seccomp_syscalls()
  invalid("'%s': unknown system call '%s'%s", where, check.shown(name), check.suggestion(name, native_syscalls))
end

local function check_arg(arg, where, seen)
  check.type(arg, "table", where)
  check.known_keys(arg, ARG_KEYS, where)
  local out = {
    index = check.integer(arg.index, where .. ".index", 0, 5, "an argument index"),
    op = one_of(arg.op, M.OPS, where .. ".op", "comparison"),
    value = check.integer(arg.value, where .. ".value", math.mininteger, math.maxinteger),
  }
  if seen[out.index] then invalid("'%s': argument %d is compared twice in one rule", where, out.index) end
  seen[out.index] = true
  if out.op == "masked_eq" then
    out.value2 = check.integer(arg.value2, where .. ".value2", math.mininteger, math.maxinteger)
  elseif arg.value2 ~= nil then
    invalid("'%s.value2' is for op \"masked_eq\" only ((argument & value) == value2)", where)
  end
  return out
end

local cap_list = privileges.cap_list

-- The action of a rule (key "action") or of the profile (key "default"), and
-- its errno when it is "errno": the table's own errno, else errno_default.
local function check_action(t, where, key, errno_default)
  local action = one_of(t[key], M.ACTIONS, where .. "." .. key, "action")
  if key == "action" and t.errno ~= nil and action ~= "errno" then
    invalid("'%s.errno' is for action \"errno\" only, the action is \"%s\"", where, action)
  end
  local errno = t.errno ~= nil and errno_value(t.errno, where .. ".errno") or errno_default
  return action, action == "errno" and errno or nil
end

local function check_rule(rule, where, errno_default)
  check.type(rule, "table", where)
  check.known_keys(rule, RULE_KEYS, where)
  local out = { where = where, syscalls = {}, args = {} }
  out.action, out.errno = check_action(rule, where, "action", errno_default)
  if #check.list(rule.syscalls or {}, where .. ".syscalls") == 0 then
    invalid("'%s.syscalls' must list at least one system call", where)
  end
  for i, name in ipairs(rule.syscalls) do out.syscalls[i] = syscall_name(name, ("%s.syscalls[%d]"):format(where, i)) end
  local seen = {}
  for i, arg in ipairs(check.list(rule.args or {}, where .. ".args")) do
    out.args[i] = check_arg(arg, ("%s.args[%d]"):format(where, i), seen)
  end
  for _, key in ipairs { "if_caps", "unless_caps" } do
    if rule[key] ~= nil then out[key] = cap_list(rule[key], where .. "." .. key) end
  end
  return out
end

-- libseccomp would keep the first of two unconditional rules for one call and drop the other unseen.
local function refuse_conflicts(rules)
  local first = {}
  for _, rule in ipairs(rules) do
    if #rule.args == 0 and not rule.if_caps and not rule.unless_caps then
      for i, name in ipairs(rule.syscalls) do
        local other = first[name]
        if other and (other.action ~= rule.action or other.errno ~= rule.errno) then
          invalid("'%s.syscalls[%d]': '%s' already has action \"%s\" in %s", rule.where, i, name, other.action,
            other.where)
        end
        first[name] = first[name] or rule
      end
    end
  end
end

-- A ready program (bubblewrap's --seccomp FD): whole instructions, within the kernel's limit.
local function check_bpf(p)
  check.type(p.bpf, "string", "seccomp.bpf")
  local n = #p.bpf // 8
  if #p.bpf % 8 ~= 0 or n == 0 or n > MAX_INSNS then
    invalid("'seccomp.bpf' must be a BPF program of 1 to %d instructions of 8 bytes, got %d bytes", MAX_INSNS, #p.bpf)
  end
  for key in pairs(p) do
    if key ~= "bpf" and key ~= "flags" then invalid("'seccomp.%s' cannot be used with 'seccomp.bpf'", key) end
  end
end

local function check_profile(p)
  check.type(p, "table", "seccomp")
  check.known_keys(p, PROFILE_KEYS, "seccomp")
  local out = { flags = {} }
  for i, flag in ipairs(check.list(p.flags or {}, "seccomp.flags")) do
    out.flags[i] = one_of(flag, M.FLAGS, ("seccomp.flags[%d]"):format(i), "flag")
  end
  if p.bpf ~= nil then
    check_bpf(p)
    out.bpf = p.bpf
    return out
  end
  if p.default == nil then invalid("'seccomp.default' is missing: one of %s", table.concat(M.ACTIONS, ", ")) end
  -- The profile's errno is also that of its rules with action "errno" and none of their own.
  local errno = p.errno ~= nil and errno_value(p.errno, "seccomp.errno") or errnos().EPERM
  out.default, out.errno = check_action(p, "seccomp", "default", errno)
  out.architectures = {}
  for i, arch in ipairs(check.list(p.architectures or {}, "seccomp.architectures")) do
    out.architectures[i] = one_of(arch, M.ARCHITECTURES, ("seccomp.architectures[%d]"):format(i), "architecture")
  end
  out.rules = {}
  for i, rule in ipairs(check.list(p.rules or {}, "seccomp.rules")) do
    out.rules[i] = check_rule(rule, ("seccomp.rules[%d]"):format(i), errno)
  end
  refuse_conflicts(out.rules)
  return out
end

-- What the command holds once it runs: the capabilities it has after exec
-- (privileges.exec_caps: its effective set then, the set Docker's profile
-- decides on, not the bounding set, which only a set-user-ID program could
-- fill), and whether CAP_SYS_ADMIN is effective when the filter goes in, just
-- before exec (without it, the filter's step sets no_new_privs first).
local function command_caps(r)
  local has = check.set_of(r.namespaces)
  local sys_admin
  if r.caps then
    sys_admin = check.set_of(r.caps.effective).cap_sys_admin == true
  else
    sys_admin = privileges.exec_caps(r, has, false).cap_sys_admin == true
  end
  return privileges.exec_caps(r, has, r.no_new_privs or not sys_admin), sys_admin
end

local function holds_all(caps, names)
  for _, name in ipairs(names or {}) do
    if not caps[name] then return false end
  end
  return true
end

local function holds_none(caps, names)
  for _, name in ipairs(names or {}) do
    if caps[name] then return false end
  end
  return true
end

-- The profile as libseccomp's input: one entry per system call of each rule whose capability condition holds.
local function filter_spec(p, caps)
  local spec = { default = p.default, errno = p.errno, architectures = p.architectures, rules = {} }
  for _, rule in ipairs(p.rules) do
    if holds_all(caps, rule.if_caps) and holds_none(caps, rule.unless_caps) then
      for _, name in ipairs(rule.syscalls) do
        spec.rules[#spec.rules + 1] = { action = rule.action, errno = rule.errno, syscall = name, args = rule.args,
          where = rule.where }
      end
    end
  end
  return spec
end

-- The programs of the recipes validated so far: built once per recipe, however often it is spawned.
local FILTERS = setmetatable({}, { __mode = "k" })

local function build_filter(p, r)
  if p.bpf then return core.seccomp_program(p.bpf) end
  local filter, message = core.seccomp_compile(filter_spec(p, (command_caps(r))))
  if not filter then invalid("seccomp: libseccomp refused %s", message) end
  return filter
end

-- Checks the seccomp key of the merged table t into the recipe r, and
-- compiles its program: last, since capability conditions read the rest of r.
function M.validate(t, r)
  if t.seccomp == nil then return end
  r.seccomp = check_profile(t.seccomp)
  FILTERS[r] = build_filter(r.seccomp, r)
end

-- The seccomp step; the child installs it after every other step, right before exec.
function M.compile(r, _, add)
  if not r.seccomp then return end
  local filter = FILTERS[r]
  local _, sys_admin = command_caps(r)
  local no_new_privs = not r.no_new_privs and not sys_admin
  local flags = #r.seccomp.flags > 0 and (" (flags: " .. table.concat(r.seccomp.flags, ", ") .. ")") or ""
  add { op = "seccomp", filter = filter, flags = r.seccomp.flags, no_new_privs = no_new_privs,
    desc = ("install the seccomp filter, %d instructions%s, just before exec%s"):format(#filter, flags,
      no_new_privs and "; no_new_privs set first, as the command lacks CAP_SYS_ADMIN" or "") }
end

-- ---- profiles ----

-- nsbox.seccomp.deny{"mount", "umount2", errno = "EPERM"}: everything allowed
-- but these, which fail with errno (EPERM unless given).
function M.deny(list)
  if type(list) ~= "table" then error("nsbox.seccomp.deny: expects a list of system call names", 2) end
  for key in pairs(list) do
    if key ~= "errno" and math.type(key) ~= "integer" then
      error(("nsbox.seccomp.deny: unknown key '%s' (a list of names, and errno)"):format(check.shown(key)), 2)
    end
  end
  local names = table.move(list, 1, #list, 1, {})
  return { default = "allow", rules = { { action = "errno", errno = list.errno or "EPERM", syscalls = names } } }
end

-- The architectures a native program may use: a 64-bit x86 kernel also
-- runs 32-bit and x32 programs, an arm64 one 32-bit arm programs.
local FAMILIES = { x86_64 = { "x86_64", "x86", "x32" }, aarch64 = { "aarch64", "arm" } }

local function native_family()
  return table.move(FAMILIES[NAMES.native] or { NAMES.native }, 1, 3, 1, {})
end

-- The profiles --seccomp takes by name. nsbox.seccomp.default is built on
-- first use: most recipes have no filter, and a whole command pays for
-- every module it loads.
local LAZY = { default = function() return require("nsbox.seccomp_default")(native_family()) end }
M.PROFILES = setmetatable({}, { __index = function(profiles, name)
  local make = LAZY[name]
  if not make then return nil end
  local profile = make()
  rawset(profiles, name, profile)
  return profile
end })
setmetatable(M, { __index = function(_, name) if LAZY[name] then return M.PROFILES[name] end end })

local function read_descriptor(fd)
  local file, message = io.open("/proc/self/fd/" .. fd, "rb")
  if not file then return nil, message end
  local bytes = file:read("a")
  file:close()
  return bytes
end

-- A profile file: JSON is a seccomp profile in the OCI runtime spec's shape
-- (linux.seccomp, as podman and Docker write them); anything else is Lua
-- data returning a profile, run with nothing in reach.
local function load_file(path)
  local file, message = io.open(path)
  if not file then return nil, message end
  local text = file:read("a")
  file:close()
  if path:match("%.json$") then return require("nsbox.oci").seccomp_profile(text, path) end
  local chunk, err = load(text, "=" .. path, "t", {})
  if not chunk then return nil, err end
  local ok, profile = pcall(chunk)
  if not ok then return nil, tostring(profile) end
  return profile
end

-- --seccomp WORD: all digits is a descriptor holding a ready BPF program
-- (bubblewrap's --seccomp FD); else a profile name, else a profile file.
function M.load(word)
  local profile, message
  if word:match("^%d+$") then
    local bytes
    bytes, message = read_descriptor(word)
    profile = bytes and { bpf = bytes }
  elseif M.PROFILES[word] then
    profile = M.PROFILES[word]
  else
    profile, message = load_file(word)
  end
  if not profile then error(("nsbox: --seccomp %s: %s"):format(word, message), 0) end
  return profile
end

return M
