-- nsbox's bench: run by bench/run.sh from the root of the tree, after it has
-- built build/bench/{floor,timer,clock.so}, the OCI bundle and the rootfs.
-- Progress goes to stderr, the report (a markdown table) to stdout.
--
-- Settings (environment): BENCH_N spawns per in-process round (default 500),
-- BENCH_ROUNDS rounds (7), BENCH_RUNS timed runs per whole command (300),
-- BENCH_WARMUP untimed runs before them (20), BENCH_LEAK spawns for the
-- growth check (10000), BENCH_BUNDLE the OCI bundle; BENCH_ROOTFS the
-- rootfs shape's tree (see shapes.lua).

package.path = "lua/?.lua;lua/?/init.lua;bench/?.lua;" .. package.path
package.cpath = "build/?.so;build/bench/?.so;" .. package.cpath

local nsbox = require "nsbox"
local clock = require "clock"
local shapes = require "shapes"

local function setting(name, default)
  local value = tonumber(os.getenv(name) or default)
  if math.type(value) ~= "integer" or value < 1 then error(name .. " must be a positive integer") end
  return value
end
local N = setting("BENCH_N", 500)
local ROUNDS = setting("BENCH_ROUNDS", 7)
local RUNS = setting("BENCH_RUNS", 300)
local WARMUP = setting("BENCH_WARMUP", 20)
local LEAK = setting("BENCH_LEAK", 10000)
local BUNDLE = os.getenv("BENCH_BUNDLE") or "build/bench/bundle"

local PID = io.open("/proc/self/stat"):read("n")

local function progress(fmt, ...)
  io.stderr:write("bench: ", fmt:format(...), "\n")
end

local function quote(word)
  return "'" .. word:gsub("'", "'\\''") .. "'"
end

-- The output of a shell command, without the last newline.
local function capture(command)
  local f = assert(io.popen(command))
  local out = f:read("a")
  f:close()
  return (out:gsub("\n$", ""))
end

local exists = require("nsbox.files").readable

local function command_exists(name)
  return os.execute("command -v " .. quote(name) .. " >/dev/null 2>&1") == true
end

local function median(list)
  local sorted = table.move(list, 1, #list, 1, {})
  table.sort(sorted)
  return sorted[(#sorted + 1) // 2]
end

local function ms(seconds) return ("%.2f"):format(seconds * 1e3) end

-- "3.31 (3.25-3.40)": the median and the range of the rounds, in ms.
local function spread(samples)
  return ("%s (%s-%s)"):format(ms(median(samples)), ms(math.min(table.unpack(samples))),
    ms(math.max(table.unpack(samples))))
end

local function ratio(a, b) return ("%.2f"):format(a / b) end

-- The median of the rounds' own ratios: a round of nsbox and the floor's next
-- to it ran under the same load, so pairing them cancels most of the drift.
local function paired_ratio(mine, theirs)
  local ratios = {}
  for round, t in ipairs(mine) do ratios[round] = t / theirs[round] end
  return ("%.2f"):format(median(ratios))
end

-- ---- in-process spawns ----

local TRUE = { "/bin/true" }

local function nsbox_round(compiled, n)
  local start = clock.now()
  for _ = 1, n do
    local proc = assert(nsbox.spawn(compiled, TRUE))
    local ok, how, code = proc:wait()
    if not ok then error(("/bin/true ended with %s %s"):format(how, code)) end
  end
  return (clock.now() - start) / n
end

-- floor.c's words for a step of nsbox's plan (its name, then its fields), or
-- nil when it has none: floor.c does not create a mount point like its
-- source, nor bind optionally or with attributes to add afterwards.
local function floor_step(step)
  local options = table.concat(step.options or {}, ",")
  local create, base_len = step.create or "none", tostring(step.base_len or 0)
  if step.op == "hostname" then return { "hostname" } end
  if step.op == "loopback" then return { "lo" } end
  if step.op == "chdir" then return { "chdir", step.target } end
  if step.op == "pivot_root" then return { "pivot_root", step.target } end
  if step.op == "symlink" then return { "symlink", step.source, step.target, base_len } end
  if create == "like_source" then return nil end
  if step.op == "mount" and step.fstype == "proc" and step.target == "/proc" and create == "none" then
    return { "proc" }
  end
  if step.op == "mount" and step.target == "/" and not step.fstype and options == "rec,private" then
    return { "private" }
  end
  if step.op == "mount" and step.source and step.fstype then
    return { "mount", step.source, step.target, step.fstype, options, create, base_len }
  end
  if step.op == "bind" and not (step.optional or step.readonly or step.options) then
    return { "bind", step.source, step.target, step.recursive and "rec" or "single", create, base_len }
  end
end

-- The floor's arguments for what nsbox's plan does: the namespaces clone
-- creates, then the words of the child's steps, so the floor follows the
-- recipe as it changes. nil and why when floor.c lacks one of the steps.
local function floor_args(compiled)
  local args = { table.concat(compiled.plan.namespaces, ",") }
  for _, step in ipairs(compiled.plan.steps) do
    local words = floor_step(step)
    if not words then return nil, ("floor.c has no step for '%s'"):format(step.desc) end
    table.move(words, 1, #words, #args + 1, args)
  end
  if compiled.plan.init then table.move({ "init", "build/nsbox/nsbox-init" }, 1, 2, #args + 1, args) end
  return args
end

-- Seconds per spawn of the C floor in mode "vm" or "fork" (see floor.c), or nil and why.
local function floor_round(args, mode, n)
  local words = {}
  for i, word in ipairs(args) do words[i] = quote(word) end
  local out = capture(("build/bench/floor %s %d %s 2>&1"):format(mode, n, table.concat(words, " ")))
  local ns = tonumber(out)
  if not ns then return nil, out end
  return ns * 1e-9
end

local function compile(shape)
  local ok, result = pcall(function()
    local recipe = shape.recipe
    if type(recipe) == "function" then recipe = recipe() end
    return nsbox.compile(recipe)
  end)
  if ok then return result end
  return nil, tostring(type(result) == "table" and result.message or result)
end

-- Rounds of nsbox and of its floors take turns, so drift hits them alike.
local function in_process()
  local rows = {}
  for _, shape in ipairs(shapes) do
    local row = { shape = shape, nsbox = {}, floor = {}, fork = {} }
    row.compiled, row.nsbox_error = compile(shape)
    if row.compiled then
      progress("%s: warming up", shape.name)
      local ok, err = pcall(nsbox_round, row.compiled, math.max(1, N // 10))
      if not ok then row.compiled, row.nsbox_error = nil, tostring(err) end
    end
    local warm, err = nil, "no plan to follow"
    if row.compiled then row.floor_args, err = floor_args(row.compiled) end
    if row.floor_args then warm, err = floor_round(row.floor_args, "vm", math.max(1, N // 10)) end
    if warm then warm, err = floor_round(row.floor_args, "fork", math.max(1, N // 10)) end
    if not warm then row.floor_error = err end
    rows[#rows + 1] = row
  end
  for round = 1, ROUNDS do
    for _, row in ipairs(rows) do
      progress("in-process round %d/%d: %s (%d spawns each)", round, ROUNDS, row.shape.name, N)
      if row.compiled then row.nsbox[round] = nsbox_round(row.compiled, N) end
      if not row.floor_error then
        row.floor[round], row.floor_error = floor_round(row.floor_args, "vm", N)
      end
      if not row.floor_error then
        row.fork[round], row.floor_error = floor_round(row.floor_args, "fork", N)
      end
    end
  end
  return rows
end

-- Seconds per spawn when the recipe is a table, validated and its filter
-- compiled by libseccomp on every spawn: what compiling once saves.
local function seccomp_per_spawn()
  local shape
  for _, s in ipairs(shapes) do
    if s.name:match("seccomp") then shape = s end
  end
  local samples = {}
  for round = 1, ROUNDS do
    progress("seccomp compiled per spawn, round %d/%d (%d spawns)", round, ROUNDS, N)
    local start = clock.now()
    for _ = 1, N do assert(select(2, assert(nsbox.spawn(shape.recipe(), TRUE)):wait()) == "exit") end
    samples[round] = (clock.now() - start) / N
  end
  return samples
end

-- ---- whole commands ----

-- {median=, p25=, p75=, rss_kb=} per command, or {failure=} ; the commands take turns.
local function time_commands(commands, wrapper)
  local words = {}
  for i, argv in ipairs(commands) do
    if i > 1 then words[#words + 1] = ":::" end
    for _, word in ipairs(argv) do words[#words + 1] = quote(word) end
  end
  local line = ("build/bench/timer %d %d %s"):format(WARMUP, RUNS, table.concat(words, " "))
  local results = {}
  for out in capture((wrapper or "%s"):format(line)):gmatch("[^\n]+") do
    local med, p25, p75, rss = out:match("^ok (%S+) (%S+) (%S+) (%S+)$")
    results[#results + 1] = med and { median = tonumber(med), p25 = tonumber(p25), p75 = tonumber(p75),
      rss_kb = tonumber(rss) } or { failure = out }
  end
  for i = 1, #commands do
    if not results[i] then results[i] = { failure = "not timed (the timer failed, see stderr)" } end
  end
  return results
end

local function timing(result)
  if result.failure then return result.failure end
  return ("%.2f (%.2f-%.2f)"):format(result.median, result.p25, result.p75)
end

local NSBOX_ALL = { "bin/nsbox", "all", "/bin/true" }
local SCRIPT_ALL = { "lua", "recipes/all.lua", "/bin/true" }
local LUA_BARE = { "lua5.4", "-e", "" } -- the interpreter's own start
local PROCESS = { "/bin/true" } -- a process's own start
local COMMAND_START = { "bin/nsbox", "--version" } -- the command's own start: Lua and its modules, no spawn
local UNSHARE = { "unshare", "--user", "--map-root-user", "--uts", "--ipc", "--pid", "--fork", "--mount", "--net",
  "--mount-proc", "/bin/true" }
local BWRAP = { "bwrap", "--unshare-all", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "/bin/true" }

-- The peers that are installed, timed in turn with nsbox; a missing one is {failure="missing"}.
local function whole_commands(nsbox_argv, peers, wrapper)
  local present, commands = {}, { nsbox_argv }
  for i, peer in ipairs(peers) do
    if command_exists(peer[1]) then
      present[i] = true
      commands[#commands + 1] = peer
    end
  end
  local timed = time_commands(commands, wrapper)
  for i, result in ipairs(timed) do
    if result.failure and result.failure:match("^failed") then
      local words = {}
      for k, word in ipairs(commands[i]) do words[k] = quote(word) end
      local line = (wrapper or "%s"):format(table.concat(words, " "))
      local said = capture(("%s 2>&1 >/dev/null | tail -n 1"):format(line))
      if said ~= "" then result.failure = ("%s: %s"):format(result.failure, said) end
    end
  end
  local results, k = { nsbox = timed[1] }, 2
  for i = 1, #peers do
    if present[i] then results[i], k = timed[k], k + 1 else results[i] = { failure = "missing" } end
  end
  return results
end

-- On a hybrid cgroup host crun refuses to start ("cgroups in hybrid mode not
-- supported") while a cgroup2 hierarchy with controllers is mounted at
-- /sys/fs/cgroup/unified: the OCI pair then runs in a private mount namespace
-- where it is unmounted, the host keeps its own. Returns the shell wrapper for
-- the timer and a note for the row.
local function cgroup_wrapper()
  for line in io.lines("/proc/self/mountinfo") do
    if line:match("^%S+ %S+ %S+ %S+ /sys/fs/cgroup/unified ") then
      return "unshare --mount --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec \"$0\" \"$@\"' %s",
        "; both in a mount namespace without /sys/fs/cgroup/unified, which crun refuses on this hybrid host"
    end
  end
  return "%s", ""
end

-- The results and a note for the row, or nil when there is no OCI recipe yet.
local function oci(bundle)
  if not exists("recipes/oci.lua") then return nil end
  local crun = { "crun", "--cgroup-manager=disabled", "run", "--bundle", bundle, "nsbox-bench-" .. PID }
  local wrapper, note = cgroup_wrapper()
  progress("whole command: nsbox oci vs crun vs oci.lua, %d runs each (%s)", RUNS, bundle)
  return whole_commands({ "bin/nsbox", "oci", bundle }, { crun, { "lua", "recipes/oci.lua", bundle } }, wrapper), note
end

-- nsbox.seccomp.default as linux.seccomp for a command without
-- CAP_SYS_ADMIN (the bundle gives none), with its rules resolved as nsbox
-- resolves them, so that crun and nsbox install the same profile.
local function oci_default_profile()
  local profile, syscalls, errno = nsbox.seccomp.default, {}, {}
  for number, name in pairs(nsbox.core.errno_names()) do errno[name] = math.min(errno[name] or number, number) end
  for _, rule in ipairs(profile.rules) do
    if not rule.if_caps then
      local args = {}
      for i, a in ipairs(rule.args or {}) do
        args[i] = { index = a.index, value = a.value, valueTwo = a.value2 or 0, op = "SCMP_CMP_" .. a.op:upper() }
      end
      syscalls[#syscalls + 1] = { names = rule.syscalls, action = "SCMP_ACT_" .. rule.action:upper(),
        errnoRet = errno[rule.errno], args = #args > 0 and args or nil }
    end
  end
  local architectures = {}
  for i, arch in ipairs(profile.architectures) do architectures[i] = "SCMP_ARCH_" .. arch:upper() end
  return { defaultAction = "SCMP_ACT_ERRNO", defaultErrnoRet = errno[profile.errno], architectures = architectures,
    syscalls = syscalls }
end

-- BUNDLE's twin whose config adds the default profile.
local function seccomp_bundle()
  local cjson = require "cjson"
  local dir = BUNDLE .. "-seccomp"
  assert(os.execute(("rm -rf %s && mkdir %s"):format(quote(dir), quote(dir))))
  local config = cjson.decode(io.open(BUNDLE .. "/config.json"):read("a"))
  config.root.path = capture("pwd") .. "/" .. BUNDLE .. "/rootfs"
  config.linux.seccomp = oci_default_profile()
  local f = assert(io.open(dir .. "/config.json", "w"))
  f:write(cjson.encode(config))
  f:close()
  return dir
end

-- The runtimes' command lines (runc's grammar) against one state root each.
-- Absolute roots: crun's start does not find a relative one. crun runs
-- without cgroups (it refuses this hybrid host's), runc with them: nsbox is
-- timed both ways, each compared with the runtime doing the same.
local function runtime_argvs()
  local states = capture("pwd") .. "/build/bench/state-"
  return {
    { "bin/nsbox", "--root", states .. "nsbox" },
    { "crun", "--cgroup-manager=disabled", "--root", states .. "crun" },
    { "runc", "--root", states .. "runc" },
    { "bin/nsbox", "--cgroup-manager=disabled", "--root", states .. "nsbox-nocg" },
  }
end

local function joined(argv)
  local words = {}
  for i, word in ipairs(argv) do words[i] = quote(word) end
  return table.concat(words, " ")
end

-- The OCI runtime alone, as an engine calls it: `run --bundle`, and the
-- lifecycle create, start, delete --force (which kills what is still running)
-- in one sh. Each row: the results of nsbox, crun, runc and nsbox without cgroups (a missing one:
-- {failure="missing"}).
local function runtimes()
  local wrapper, note = cgroup_wrapper()
  local id = "nsbox-bench-" .. PID
  local run, lifecycle = {}, {}
  for i, argv in ipairs(runtime_argvs()) do
    run[i] = table.move(argv, 1, #argv, 1, {})
    for _, word in ipairs { "run", "--bundle", BUNDLE, id } do run[i][#run[i] + 1] = word end
    local r = joined(argv)
    lifecycle[i] = { "sh", "-c", ("%s create --bundle %s %s >/dev/null && %s start %s; %s delete --force %s")
      :format(r, quote(BUNDLE), id, r, id, r, id) }
  end
  progress("runtime: run --bundle, nsbox vs crun vs runc, %d runs each", RUNS)
  local run_results = whole_commands(run[1], { run[2], run[3], run[4] }, wrapper)
  progress("runtime: create + start + delete, nsbox vs crun vs runc, %d runs each", RUNS)
  local lifecycle_results = whole_commands(lifecycle[1], { lifecycle[2], lifecycle[3], lifecycle[4] }, wrapper)
  return { run = run_results, lifecycle = lifecycle_results }, note
end

-- ---- memory ----

local function status_kb(field)
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^" .. field .. ":%s*(%d+) kB")
    if kb then return tonumber(kb) end
  end
end

-- VmRSS, open fds and zombie children of this Lua state.
local function footprint()
  collectgarbage("collect")
  -- ls lists the fds of this process, which include popen's pipe to ls both times.
  local fds = tonumber(capture(("ls /proc/%d/fd | wc -l"):format(PID)))
  local zombies = 0
  for child in capture(("cat /proc/%d/task/%d/children"):format(PID, PID)):gmatch("%d+") do
    local stat = io.open("/proc/" .. child .. "/stat")
    if stat and stat:read("a"):match("^%d+ %b() Z") then zombies = zombies + 1 end
    if stat then stat:close() end
  end
  return { rss_kb = status_kb("VmRSS"), fds = fds, zombies = zombies }
end

-- Under the last shape that compiles, the one doing the most.
local function growth(rows)
  for i = #rows, 1, -1 do
    if rows[i].compiled then
      progress("growth: %d spawns under %s", LEAK, rows[i].shape.name)
      local before = footprint()
      nsbox_round(rows[i].compiled, LEAK)
      return rows[i].shape.name, before, footprint()
    end
  end
end

-- ---- the report ----

local function machine()
  local model = capture("grep -m1 '^model name' /proc/cpuinfo"):match(":%s*(.*)") or "unknown CPU"
  return ("%s x %s, Linux %s"):format(capture("nproc"), model, capture("uname -r"))
end

local function versions()
  local function first_line(command)
    return command_exists(command:match("^%S+"))
      and (capture(command .. " 2>&1 | head -n 1"):gsub("%s+Copyright.*", "")) or nil
  end
  local list = {}
  for _, command in ipairs { "lua -v", "unshare --version", "bwrap --version", "crun --version", "runc --version" } do
    list[#list + 1] = first_line(command) or (command:match("^%S+") .. " missing")
  end
  return table.concat(list, "; ")
end

local function main()
  local date = capture("date -u '+%Y-%m-%d %H:%M:%S UTC'")
  local rows = in_process()
  progress("whole command: nsbox all vs all.lua vs unshare vs bwrap vs lua5.4 -e '' vs /bin/true vs nsbox --version "
    .. "vs the C floor, %d runs each", RUNS)
  -- The last shape's floor as a whole command: one spawn from a C program's start.
  local last_floor = rows[#rows].floor_args
  local floor_once = last_floor and { "build/bench/floor", "vm", "1", table.unpack(last_floor) } or PROCESS
  local whole = whole_commands(NSBOX_ALL, { UNSHARE, BWRAP, SCRIPT_ALL, LUA_BARE, PROCESS, COMMAND_START, floor_once })
  local per_spawn = seccomp_per_spawn()
  local oci_results, oci_note = oci(BUNDLE)
  local seccomp_results = oci(seccomp_bundle())
  local runtime_results, runtime_note = runtimes()
  local leak_shape, before, after = growth(rows)

  local out = {}
  local function add(fmt, ...) out[#out + 1] = fmt:format(...) end
  local function row(...) add("| %s |", table.concat({ ... }, " | ")) end

  add("nsbox bench, %s", date)
  add("")
  add("- machine: %s", machine())
  add("- versions: %s", versions())
  add("- reproduce: `make bench` (here BENCH_N=%d BENCH_ROUNDS=%d BENCH_RUNS=%d BENCH_WARMUP=%d BENCH_LEAK=%d)",
    N, ROUNDS, RUNS, WARMUP, LEAK)
  add("- times in ms. In-process: wall time of a loop of N spawns of /bin/true (spawn + wait) over N, median "
    .. "(min-max) of the rounds; the ratio is the median of each round's ratio. Whole commands: median (p25-p75) "
    .. "of the runs, taking turns.")
  add("")
  row("measurement", "nsbox", "reference", "nsbox / reference")
  row("---", "---:", "---:", "---:")

  for _, r in ipairs(rows) do
    local what = ("in-process spawn, %s"):format(r.shape.name)
    local mine = r.compiled and spread(r.nsbox) or ("n/a (%s)"):format(r.nsbox_error)
    local floor = r.floor_error and ("n/a (%s)"):format(r.floor_error)
      or ("C floor %s; fork-style clone %s"):format(spread(r.floor), spread(r.fork))
    local x = (r.compiled and not r.floor_error)
      and ("%s (vs fork-style: %s)"):format(paired_ratio(r.nsbox, r.floor), paired_ratio(r.nsbox, r.fork)) or "n/a"
    row(what, mine, floor, x)
  end

  local function compare(what, mine, peer, name)
    local x = (mine.failure or peer.failure) and "n/a" or ratio(mine.median, peer.median)
    row(what, timing(mine), peer.failure and (name .. " " .. peer.failure) or (name .. " " .. timing(peer)), x)
  end
  local unshare, bwrap, script = whole[1], whole[2], whole[3]
  compare("whole command, `nsbox all /bin/true` vs `unshare ... --mount-proc /bin/true`", whole.nsbox, unshare,
    "unshare")
  compare("whole command, `nsbox all /bin/true` vs `bwrap --unshare-all ... /bin/true`", whole.nsbox, bwrap, "bwrap")
  compare("whole command, `lua recipes/all.lua /bin/true` vs unshare", script, unshare, "unshare")
  compare("whole command, `lua recipes/all.lua /bin/true` vs bwrap", script, bwrap, "bwrap")
  compare("start of the interpreter alone, `lua5.4 -e ''`, vs unshare", whole[4], unshare, "unshare")
  compare("start of a process alone, `/bin/true`, vs unshare", whole[5], unshare, "unshare")
  compare("start of the command alone, `nsbox --version` (Lua and its modules, no spawn), vs `/bin/true`", whole[6],
    whole[5], "/bin/true")
  if last_floor then
    compare(("whole command, the C floor of %s run once (`bench/floor.c`: the same spawn from a C program's start) "
      .. "vs unshare"):format(rows[#rows].shape.name), whole[7], unshare, "unshare")
  end
  if oci_results then
    compare(("whole command, `nsbox oci BUNDLE` vs `crun --cgroup-manager=disabled run` (busybox "
      .. "bundle%s)"):format(oci_note), oci_results.nsbox, oci_results[1], "crun")
    compare("whole command, `lua recipes/oci.lua BUNDLE` vs crun", oci_results[2], oci_results[1], "crun")
    compare("whole command, `nsbox oci` with nsbox.seccomp.default as the bundle's linux.seccomp",
      seccomp_results.nsbox, seccomp_results[1], "crun")
  else
    row("whole command, `nsbox oci BUNDLE` vs `crun run`", "n/a (no recipes/oci.lua yet)", "", "")
  end
  for _, r in ipairs(rows) do
    if r.shape.name:match("seccomp") and r.compiled then
      row("in-process spawn, the seccomp shape with its recipe a table: validated and compiled per spawn",
        spread(per_spawn), "compiled once: " .. spread(r.nsbox), paired_ratio(per_spawn, r.nsbox))
    end
  end

  for _, what in ipairs { { "run", "`run --bundle BUNDLE ID`" },
    { "lifecycle", "`create` + `start` + `delete --force` in one sh" } } do
    local results = runtime_results[what[1]]
    compare(("runtime alone, %s, without cgroups (`--cgroup-manager=disabled`), nsbox vs crun (busybox bundle%s)")
      :format(what[2], runtime_note), results[3], results[1], "crun")
    compare(("runtime alone, %s, with cgroups in every hierarchy, nsbox vs runc"):format(what[2]), results.nsbox,
      results[2], "runc")
  end

  local function rss(result) return result.failure and "n/a" or ("%d KiB"):format(result.rss_kb) end
  local peers = ("unshare %s; bwrap %s"):format(rss(unshare), rss(bwrap))
  local function peak(what, result)
    row(("peak RSS, %s (ru_maxrss from wait4, median of the runs)"):format(what), rss(result), peers,
      (result.failure or unshare.failure) and "n/a" or (ratio(result.rss_kb, unshare.rss_kb) .. " (vs unshare)"))
  end
  peak("`nsbox all /bin/true`", whole.nsbox)
  peak("`lua recipes/all.lua /bin/true`", script)
  if oci_results then
    row("peak RSS, `nsbox oci BUNDLE`", rss(oci_results.nsbox), "crun " .. rss(oci_results[1]),
      (oci_results.nsbox.failure or oci_results[1].failure) and "n/a"
        or (ratio(oci_results.nsbox.rss_kb, oci_results[1].rss_kb) .. " (vs crun)"))
  end
  if leak_shape then
    local what = ("growth over %d in-process spawns from one Lua state, shape %s:"):format(LEAK, leak_shape)
    row(what .. " VmRSS", ("%+d KiB (%d -> %d)"):format(after.rss_kb - before.rss_kb, before.rss_kb,
      after.rss_kb), "0", "")
    row(what .. " open fds", ("%+d (%d -> %d)"):format(after.fds - before.fds, before.fds, after.fds), "0", "")
    row(what .. " zombie children", ("%d (before: %d)"):format(after.zombies, before.zombies), "0", "")
  else
    row("growth after in-process spawns", "n/a (no shape compiles)", "", "")
  end
  print(table.concat(out, "\n"))
end

main()
