-- Shared by the specs: root guards, running commands and recipes as a user
-- would, and capturing what a sandboxed command prints.
local nsbox = require "nsbox"
local luassert = require "luassert" -- busted's assert: the global one here is Lua's

local H = {}

H.root = nsbox.core.ids() == 0
H.NOBODY = "setpriv --reuid=65534 --regid=65534 --clear-groups "

local function shell_quote(word)
  return "'" .. tostring(word):gsub("'", "'\\''") .. "'"
end
H.quote = shell_quote

-- busted gives each spec file its own environment holding `it`, `pending`
-- and `finally`: the first caller up the stack whose _ENV has field.
local function spec_env(field)
  for level = 3, 32 do
    local info = debug.getinfo(level, "f")
    if not info then break end
    for i = 1, math.huge do
      local name, value = debug.getupvalue(info.func, i)
      if not name then break end
      if name == "_ENV" and type(value) == "table" and value[field] then return value end
    end
  end
  return _G
end

-- `it` for a spec that needs root; reported as skipped, with the reason, otherwise.
function H.root_it(name, fn)
  local env = spec_env("it")
  if H.root then
    env.it(name, fn)
  else
    env.pending(name .. " (skipped: needs root)")
  end
end

local slurp = require("nsbox.files").read
H.slurp = slurp

-- Run a shell command line: stdout, stderr, exit code (128+N for signal N).
function H.sh(command)
  local err_file = os.tmpname()
  local p = io.popen(command .. " 2>" .. err_file)
  local out = p:read("a")
  local _, how, code = p:close()
  local err = slurp(err_file)
  os.remove(err_file)
  if how == "signal" then code = 128 + code end
  return out, err, code
end

-- Run program with args, optionally as nobody: stdout, stderr, status.
local function run_words(program, args, opts)
  local words = {}
  for i, a in ipairs(args or {}) do words[i] = shell_quote(a) end
  local prefix = (opts and opts.nobody) and H.NOBODY or ""
  local env = (opts and opts.env) and (opts.env .. " ") or ""
  return H.sh(env .. prefix .. program .. " " .. table.concat(words, " "))
end

-- Run `lua recipes/NAME.lua ARG...`, optionally as nobody: stdout, stderr, status.
function H.recipe(name, args, opts)
  return run_words("lua recipes/" .. name .. ".lua", args, opts)
end

-- Run the checkout's `bin/nsbox ARG...`, as H.recipe runs a recipe.
function H.nsbox(args, opts)
  return run_words("bin/nsbox", args, opts)
end

-- Spawn with nsbox.run, capturing the command's output: output, ok, how, code.
function H.capture(recipe, argv)
  local file = os.tmpname()
  os.execute("chmod 666 " .. file) -- the command may run as another user
  local wrapped = { "/bin/sh", "-c", 'exec "$@" >"$0" 2>&1', file }
  table.move(argv, 1, #argv, #wrapped + 1, wrapped)
  local ok, how, code = nsbox.run(recipe, wrapped)
  local out = slurp(file)
  os.remove(file)
  return out, ok, how, code
end

-- The error fn raises for these arguments (failing the spec if it returns).
function H.refusal(fn, ...)
  local ok, err = pcall(fn, ...)
  luassert.is_false(ok, "expected a refusal")
  return err
end

-- The error nsbox.recipe raises for t.
function H.recipe_error(t)
  return H.refusal(nsbox.recipe, t)
end

-- The spec that a SIGTERM sent to a Lua script waiting in nsbox.run reaches
-- the sandbox: the script runs `sleep SECONDS` under recipe (Lua source of a
-- table) in the background, is signalled once that sleep exists, and prints
-- what run returned. SECONDS should be unique to the spec so pgrep finds it.
function H.root_it_passes_sigterm_on(name, recipe, seconds)
  H.root_it(name, function()
    local script = 'package.path = "lua/?.lua;lua/?/init.lua;" .. package.path; '
      .. 'package.cpath = "build/?.so;" .. package.cpath; local nsbox = require "nsbox"; '
      .. ('print(nsbox.run(%s, { "sleep", %q }))'):format(recipe, seconds)
    local out = H.sh("lua -e " .. H.quote(script) .. " & for i in $(seq 100); do pgrep -f '^sleep " .. seconds
      .. "$' >/dev/null && break; sleep 0.1; done; sleep 0.2; kill -TERM $!; wait $!")
    luassert.equal("nil\tsignal\t15\n", out)
  end)
end

-- Snapshot the host's mount table now, and return the function that adds,
-- where the spec file calls it (last), the spec finding that table unchanged
-- after the specs named by what.
function H.host_mounts_kept(what)
  local before = slurp("/proc/self/mountinfo")
  return function()
    local env = spec_env("describe")
    env.describe("after the " .. what .. " specs", function()
      env.it("the host's mount table is as it was", function()
        luassert.equal(before, slurp("/proc/self/mountinfo"))
      end)
    end)
  end
end

-- fn, run when the spec ends, after those given later. busted keeps one
-- finally per spec (the calling spec file's own): a second would replace
-- the first, so they are chained here.
local at_end = {}
local function run_at_end()
  local fns = at_end
  at_end = {}
  for i = #fns, 1, -1 do fns[i]() end
end

function H.on_end(fn)
  at_end[#at_end + 1] = fn
  spec_env("finally").finally(run_at_end)
end

-- A new directory, removed when the spec ends.
function H.temp_dir()
  local dir = H.trim(H.sh("mktemp -d"))
  H.on_end(function() H.sh("rm -rf " .. H.quote(dir)) end)
  return dir
end

-- A copy of the built checkout in a new directory (under dir when given):
-- its sources, its command, its core and nsbox-init, nothing rebuilt.
function H.copied_checkout(dir)
  dir = dir or H.temp_dir()
  local _, err, code = H.sh(("mkdir -p %s/build/nsbox %s/bin && cp -r lua recipes %s/ && cp bin/nsbox %s/bin/ && "
    .. "cp build/nsbox/core.so build/nsbox/nsbox-init %s/build/nsbox/"):format(dir, dir, dir, dir, dir))
  assert(code == 0, err)
  return dir
end

-- A file holding text, with mode (octal text) when given.
function H.write(path, text, mode)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  if mode then assert(os.execute(("chmod %s %s"):format(mode, H.quote(path)))) end
end

function H.hostname()
  return (H.sh("hostname"):gsub("%s+$", ""))
end

function H.trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- The mount points of a mountinfo text, as a set.
function H.mount_points(mountinfo)
  local set = {}
  for line in mountinfo:gmatch("[^\n]+") do
    local point = line:match("^%S+ %S+ %S+ %S+ (%S+)")
    if point then set[point] = true end
  end
  return set
end

-- The caller's deepest cgroup path, when its cgroups of the other hierarchies are its ancestors (else nil):
-- an absolute cgroup path beneath it is beneath the caller's cgroup everywhere.
function H.deepest_own_cgroup()
  local deepest, paths = "", {}
  for path in slurp("/proc/self/cgroup"):gmatch("%d+:[^:\n]*:([^\n]*)") do
    paths[#paths + 1] = path
    if #path > #deepest then deepest = path end
  end
  for _, path in ipairs(paths) do
    if path ~= "/" and deepest ~= path and deepest:sub(1, #path + 1) ~= path .. "/" then return nil end
  end
  return (deepest:gsub("/$", ""))
end

-- Absolute cgroup path and its ancestors, each hierarchy's directories of them that do not exist; with
-- among (such a list), only those of it that do exist: what a runtime made and left.
function H.missing_cgroups(path, among)
  local list = {}
  if among then
    for _, dir in ipairs(among) do
      if H.sh("test -d " .. H.quote(dir) .. " && echo yes") ~= "" then list[#list + 1] = dir end
    end
    return list
  end
  for root in H.sh("ls -d /sys/fs/cgroup/*/ | sed 's:/$::'"):gmatch("[^\n]+") do
    local p = path
    while p ~= "" and H.sh("test -d " .. H.quote(root .. p) .. " || echo no") ~= "" do
      list[#list + 1] = root .. p
      p = p:match("^(.*)/[^/]*$")
    end
  end
  return list
end

return H
