-- nsbox.flags: the command line's options, from one table. Each entry
-- names a flag, its arguments, the recipe key it sets and its help; the
-- parser, `nsbox --help`, `nsbox help KEY`, the man page and the README's
-- flag table are all made from it (see nsbox.help).

local M = {}

local function invalid(fmt, ...)
  error(("nsbox: " .. fmt):format(...), 0)
end

-- ---- what the command line's words become ----

local function integer(word, flag)
  local n = math.tointeger(tonumber(word))
  if not n or n < 0 then invalid("%s: expected a number, got '%s'", flag, word) end
  return n
end

local function append(fragment, key, value)
  fragment[key] = fragment[key] or {}
  table.insert(fragment[key], value)
end

local function namespaces(...)
  local list = { ... }
  return function(fragment) for _, name in ipairs(list) do append(fragment, "namespaces", name) end end
end

local function mount(kind, extra)
  return function(fragment, state, a, b)
    local m = { type = kind, target = b or a, source = b and a or nil }
    for k, v in pairs(extra or {}) do m[k] = v end
    if kind == "tmpfs" then m.size, state.size = state.size, nil end
    -- bubblewrap makes both 0755 unless told
    if kind == "tmpfs" or kind == "dir" then m.mode, state.perms = state.perms or "0755", nil end
    append(fragment, "mounts", m)
  end
end

local function set(key, value)
  return function(fragment) fragment[key] = value end
end

local function set_word(key, convert)
  return function(fragment, _, word) fragment[key] = convert and convert(word, "--" .. key) or word end
end

-- "IN:OUT:COUNT" -> an id map range.
local function id_range(key)
  return function(fragment, _, word)
    local inside, outside, count = word:match("^(%d+):(%d+):(%d+)$")
    if not inside then invalid("--%s: expected INSIDE:OUTSIDE:COUNT, got '%s'", key:gsub("_", "-"), word) end
    append(fragment, key, { tonumber(inside), tonumber(outside), tonumber(count) })
  end
end

-- "NAME=SOFT[:HARD]", each a number or "unlimited".
local function rlimit(fragment, _, word)
  local name, soft, hard = word:match("^(%w+)=([^:]+):?(.*)$")
  if not name then invalid("--rlimit: expected NAME=SOFT[:HARD], got '%s'", word) end
  local function value(text) return text == "unlimited" and text or integer(text, "--rlimit " .. name) end
  fragment.rlimits = fragment.rlimits or {}
  fragment.rlimits[name] = { value(soft), value(hard ~= "" and hard or soft) }
end

-- The capabilities the command keeps (state.caps, a set): bubblewrap style
-- starts from none, after a recipe from all of them.
local function all_caps()
  return require("nsbox.check").set_of(require("nsbox.core").cap_names())
end

local function caps(add)
  return function(_, state, word)
    local name = "cap_" .. word:lower():gsub("^cap_", "")
    if name == "cap_all" then
      state.caps = add and all_caps() or {}
    else
      state.caps[name] = add or nil
    end
    state.caps_changed = true
  end
end

-- ---- the table ----
-- name: the flag; args: the words it takes; key: the recipe key it sets
-- (nil for those acting on the command line itself); help: one line;
-- set(fragment, state, word...): what it does to the recipe fragment;
-- action(): for the flags that answer instead of running anything;
-- nsbox = true: nsbox's own, which bubblewrap does not have.

M.FLAGS = {
  { name = "--help", help = "show this help and exit", action = function() require("nsbox.help").show() end },
  { name = "--version", help = "show nsbox's version and exit, in runc's shape (doc/runtime.md)",
    action = function() print(require("nsbox.runtime").version()) end },
  { name = "--list", nsbox = true, help = "list the stock recipes with their descriptions and exit",
    action = function() require("nsbox.help").list() end },
  { name = "--unshare-user", key = "namespaces", set = namespaces("user"), help = "a new user namespace" },
  { name = "--unshare-ipc", key = "namespaces", set = namespaces("ipc"), help = "a new IPC namespace" },
  { name = "--unshare-pid", key = "namespaces", set = namespaces("pid"),
    help = "a new PID namespace (with an init as PID 1 in bubblewrap style; see --as-pid-1)" },
  { name = "--unshare-net", key = "namespaces", set = namespaces("net"),
    help = "a new network namespace holding only lo, up" },
  { name = "--unshare-uts", key = "namespaces", set = namespaces("uts"), help = "a new UTS namespace" },
  { name = "--unshare-cgroup", key = "namespaces", set = namespaces("cgroup"), help = "a new cgroup namespace" },
  { name = "--unshare-time", key = "namespaces", set = namespaces("time"), nsbox = true,
    help = "a new time namespace" },
  { name = "--unshare-mount", key = "namespaces", set = namespaces("mount"), nsbox = true,
    help = "a new mount namespace (bubblewrap style always has one)" },
  { name = "--unshare-all", key = "namespaces", set = namespaces("user", "ipc", "pid", "net", "uts", "cgroup"),
    help = "the user, IPC, PID, network, UTS and cgroup namespaces" },
  { name = "--share-net", key = "namespaces", help = "keep the caller's network namespace despite --unshare-all",
    set = function(_, state) state.share_net = true end },
  { name = "--hostname", args = { "NAME" }, key = "hostname", set = set_word("hostname"),
    help = "the hostname inside (needs --unshare-uts)" },
  { name = "--domainname", args = { "NAME" }, key = "domainname", set = set_word("domainname"), nsbox = true,
    help = "the NIS domain name inside (needs --unshare-uts)" },
  { name = "--bind", args = { "SRC", "DEST" }, key = "mounts", set = mount("bind"),
    help = "bind SRC on DEST, read-write" },
  { name = "--bind-try", args = { "SRC", "DEST" }, key = "mounts", set = mount("bind", { optional = true }),
    help = "--bind, skipped when SRC does not exist" },
  { name = "--ro-bind", args = { "SRC", "DEST" }, key = "mounts", set = mount("ro_bind"),
    help = "bind SRC on DEST, read-only (--ro-bind / / for the whole host tree)" },
  { name = "--ro-bind-try", args = { "SRC", "DEST" }, key = "mounts", set = mount("ro_bind", { optional = true }),
    help = "--ro-bind, skipped when SRC does not exist" },
  { name = "--dev-bind", args = { "SRC", "DEST" }, key = "mounts", set = mount("dev_bind"),
    help = "bind SRC on DEST, device files usable" },
  { name = "--dev-bind-try", args = { "SRC", "DEST" }, key = "mounts", set = mount("dev_bind", { optional = true }),
    help = "--dev-bind, skipped when SRC does not exist" },
  { name = "--tmpfs", args = { "DEST" }, key = "mounts", set = mount("tmpfs"),
    help = "a new tmpfs on DEST (sized by --size, mode from --perms)" },
  { name = "--size", args = { "BYTES" }, key = "mounts", help = "the size of the next --tmpfs",
    set = function(_, state, word) state.size = integer(word, "--size") end },
  { name = "--perms", args = { "OCTAL" }, key = "mounts", help = "the mode of the next --tmpfs or --dir",
    set = function(_, state, word)
      if not word:match("^[0-7]+$") then invalid("--perms: expected an octal mode like 0755, got '%s'", word) end
      state.perms = word
    end },
  { name = "--proc", args = { "DEST" }, key = "mounts", set = mount("proc"), help = "a new /proc on DEST" },
  { name = "--dev", args = { "DEST" }, key = "mounts", set = mount("dev"),
    help = "a minimal /dev on DEST (null, zero, full, random, urandom, tty, pts, shm)" },
  { name = "--mqueue", args = { "DEST" }, key = "mounts", set = mount("mqueue"),
    help = "a POSIX message queue filesystem on DEST" },
  { name = "--symlink", args = { "SRC", "DEST" }, key = "mounts", set = mount("symlink"),
    help = "a symbolic link DEST pointing to SRC" },
  { name = "--dir", args = { "DEST" }, key = "mounts", set = mount("dir"),
    help = "a directory DEST (mode from --perms)" },
  { name = "--remount-ro", args = { "DEST" }, key = "mounts", set = mount("remount_ro"),
    help = "make the mount at DEST read-only" },
  { name = "--rootfs", args = { "DIR" }, key = "rootfs", set = set_word("rootfs"), nsbox = true,
    help = "DIR as the root (bubblewrap style: instead of an empty tmpfs)" },
  { name = "--chdir", args = { "DIR" }, key = "cwd", set = set_word("cwd"), help = "the working directory" },
  { name = "--setenv", args = { "VAR", "VALUE" }, key = "env", help = "set VAR to VALUE",
    set = function(fragment, _, var, value) fragment.env = fragment.env or {}; fragment.env[var] = value end },
  { name = "--unsetenv", args = { "VAR" }, key = "env", help = "unset VAR",
    set = function(fragment, _, var) fragment.env = fragment.env or {}; fragment.env[var] = false end },
  { name = "--argv0", args = { "VALUE" }, key = "argv0", set = set_word("argv0"),
    help = "argv[0] of CMD, which is still looked up by its own name" },
  { name = "--clearenv", key = "clearenv", set = set("clearenv", true),
    help = "start from an empty environment (then --setenv)" },
  { name = "--uid", args = { "UID" }, key = "user", help = "the uid inside (needs a user namespace)",
    set = function(_, state, word) state.uid = integer(word, "--uid") end },
  { name = "--gid", args = { "GID" }, key = "user", help = "the gid inside (needs a user namespace)",
    set = function(_, state, word) state.gid = integer(word, "--gid") end },
  { name = "--uid-map", args = { "IN:OUT:COUNT" }, key = "uid_map", set = id_range("uid_map"), nsbox = true,
    help = "a range of the user namespace's uid map (repeatable)" },
  { name = "--gid-map", args = { "IN:OUT:COUNT" }, key = "gid_map", set = id_range("gid_map"), nsbox = true,
    help = "a range of the user namespace's gid map (repeatable)" },
  { name = "--cap-add", args = { "CAP" }, key = "caps", set = caps(true),
    help = "keep capability CAP (ALL: every one)" },
  { name = "--cap-drop", args = { "CAP" }, key = "caps", set = caps(false),
    help = "drop capability CAP (ALL: every one)" },
  { name = "--no-new-privs", key = "no_new_privs", set = set("no_new_privs", true), nsbox = true,
    help = "set no_new_privs (bubblewrap always does)" },
  { name = "--rlimit", args = { "NAME=SOFT[:HARD]" }, key = "rlimits", set = rlimit, nsbox = true,
    help = "a resource limit, e.g. nofile=1024 or core=0:unlimited" },
  { name = "--init", key = "init", set = set("init", true), nsbox = true,
    help = "an init as PID 1 that reaps orphans and forwards signals (needs a PID namespace)" },
  { name = "--as-pid-1", key = "init", set = set("init", false),
    help = "run CMD itself as PID 1 of the new PID namespace, no init" },
  { name = "--seccomp", args = { "PROFILE" }, key = "seccomp",
    help = "filter CMD's system calls by PROFILE: \"default\", a .json (OCI linux.seccomp) or .lua profile file; "
      .. "all digits: a ready BPF program on that descriptor, as bubblewrap's --seccomp FD",
    set = function(fragment, _, word) fragment.seccomp = require("nsbox.seccomp").load(word) end },
  { name = "--die-with-parent", key = "die_with_parent", set = set("die_with_parent", true),
    help = "kill CMD when nsbox dies" },
  { name = "--new-session", key = "new_session", set = set("new_session", true),
    help = "a new terminal session, so CMD cannot push input to the caller's terminal" },
  { name = "--info-fd", args = { "FD" }, key = "options.info_fd",
    help = "write the sandbox's pid and namespace ids as JSON to descriptor FD once it runs",
    set = function(_, state, word) state.options.info_fd = integer(word, "--info-fd") end },
  { name = "--json-status-fd", args = { "FD" }, key = "options.json_status_fd",
    help = "write the same as one JSON line to FD, then { \"exit-code\": N } when CMD ends",
    set = function(_, state, word) state.options.json_status_fd = integer(word, "--json-status-fd") end },
  { name = "--tty", key = "tty", set = set("tty", true), nsbox = true,
    help = "a pseudo-terminal for CMD, relayed to the caller's (raw mode, window size), like podman run -t" },
  { name = "--join", args = { "PID" }, key = "join", nsbox = true,
    help = "join every namespace of PID that differs from ours, like nsenter -a",
    set = function(fragment, _, word) fragment.join = integer(word, "--join") end },
  { name = "--debug", key = "log", set = set("log", "debug"), nsbox = true,
    help = "log the plan's steps on stderr" },
}

local BY_NAME = {}
for _, flag in ipairs(M.FLAGS) do BY_NAME[flag.name] = flag end
M.BY_NAME = BY_NAME

local function flag_names()
  local names = {}
  for i, flag in ipairs(M.FLAGS) do names[i] = flag.name end
  return names
end

-- Bubblewrap style builds the root on an empty tmpfs mounted over this
-- directory in the sandbox's own mount namespace (the host's stays as it
-- is): bind sources below it are hidden, so it is one nobody binds from.
M.ROOT_BASE = "/mnt"

local function has(list, name)
  for _, v in ipairs(list or {}) do if v == name then return true end end
  return false
end

-- Bubblewrap's defaults: a mount namespace, an empty root (a PID namespace
-- gets its init anyway), no capabilities, no_new_privs, and an unprivileged
-- caller's own ids inside a user namespace (--uid and --gid change them).
local function bubblewrap_defaults(fragment, state)
  append(fragment, "namespaces", "mount")
  local _, _, euid, egid = require("nsbox.core").ids()
  if euid ~= 0 and not has(fragment.namespaces, "user") then append(fragment, "namespaces", "user") end
  if not fragment.rootfs then
    fragment.rootfs = M.ROOT_BASE
    fragment.mounts = fragment.mounts or {}
    table.insert(fragment.mounts, 1, { type = "tmpfs", target = "/", mode = "0755" })
  end
  if not has(fragment.namespaces, "pid") then
    -- Without a PID namespace of its own, a user namespace may not mount a
    -- new proc: bubblewrap binds the caller's instead, and so do we.
    for _, m in ipairs(fragment.mounts or {}) do
      if m.type == "proc" then m.type, m.source = "bind", "/proc" end
    end
  end
  fragment.no_new_privs = true
  if state.uid or state.gid then
    if not has(fragment.namespaces, "user") then invalid("--uid and --gid need --unshare-user") end
  end
  if has(fragment.namespaces, "user") then
    local uid, gid = state.uid or euid, state.gid or egid
    fragment.uid_map = fragment.uid_map or { { uid, euid, 1 } }
    fragment.gid_map = fragment.gid_map or { { gid, egid, 1 } }
    fragment.user = { uid = uid, gid = gid }
  end
end

local function finish(fragment, state, bubblewrap)
  if state.share_net then
    local kept = {}
    for _, name in ipairs(fragment.namespaces or {}) do if name ~= "net" then kept[#kept + 1] = name end end
    fragment.namespaces = kept
  end
  -- With --join, the namespaces are someone else's, as with nsenter: nothing to add.
  if bubblewrap and not fragment.join then bubblewrap_defaults(fragment, state)
  elseif state.uid or state.gid then fragment.user = { uid = state.uid or 0, gid = state.gid or 0 } end
  if (bubblewrap and not fragment.join) or state.caps_changed then
    fragment.caps = { keep = require("nsbox.check").sorted_names(state.caps) }
  end
  if state.size or state.perms then invalid("--size and --perms apply to a --tmpfs or --dir after them") end
end

-- parse(args, i [, bubblewrap]) -> fragments, next, options: the recipe
-- fragments the flags from args[i] on make, the index of the first word
-- after them (CMD), and the options of the run (descriptors for machines).
-- "--" ends the flags. Bubblewrap style (no recipe) adds bubblewrap's defaults.
function M.parse(args, i, bubblewrap)
  local fragment, state = {}, { caps = bubblewrap and {} or all_caps(), options = {} }
  while args[i] and args[i]:sub(1, 1) == "-" do
    local word = args[i]
    if word == "--" then i = i + 1; break end
    local flag = BY_NAME[word]
    if not flag then
      invalid("unknown option '%s'%s (nsbox --help lists them)", word,
        require("nsbox.check").suggestion(word, flag_names()))
    end
    if flag.action then invalid("'%s' comes before a recipe or command, not after", word) end
    local n = #(flag.args or {})
    local words = table.move(args, i + 1, i + n, 1, {})
    if #words < n then invalid("%s takes %s", word, table.concat(flag.args, " ")) end
    flag.set(fragment, state, table.unpack(words, 1, n))
    i = i + 1 + n
  end
  finish(fragment, state, bubblewrap)
  return { fragment }, i, state.options
end

-- `nsbox -FLAG... [CMD [ARG...]]`: a recipe from the flags alone, or one of
-- the flags that answer and exit.
function M.main(args)
  local flag = BY_NAME[args[1]]
  if flag and flag.action then
    if #args > 1 then
      io.stderr:write("nsbox: ", args[1], " takes no arguments\n")
      os.exit(125)
    end
    flag.action()
    os.exit(0)
  end
  require("nsbox.cli").main(function()
    local fragments, from, options = M.parse(args, 1, true)
    local argv = table.move(args, from, #args, 1, {})
    -- Through pcall, a refusal is nsbox.recipe's message without a position of ours.
    local ok, recipe = pcall(require("nsbox").recipe, table.unpack(fragments))
    if not ok then error(recipe, 0) end
    return recipe, #argv > 0 and argv or nil, options
  end, args)
end

return M
