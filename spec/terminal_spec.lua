-- Terminals, signals and the init a new PID namespace gets by default.
local nsbox = require "nsbox"
local H = require "helpers"

-- Run a shell command line under `script`, which gives it a terminal of its
-- own; input is typed into that terminal after a pause: stdout and stderr.
local function on_terminal(command, input)
  return H.sh(("(sleep 1; printf %s) | script -qec %s /dev/null"):format(H.quote(input or ""), H.quote(command)))
end

describe("an init by default", function()
  H.root_it("lets Ctrl-C end `recipes/pid.lua sleep 30` at once, with status 130", function()
    local out = on_terminal("lua recipes/pid.lua sleep 30; echo status=$?", "\3")
    assert.matches("status=130", out)
  end)

  H.root_it("passes kill -TERM on the waiting script on, ending it with 143", function()
    local out = H.sh("lua recipes/pid.lua sleep 31.5 & for i in $(seq 100); do "
      .. "pgrep -f '^sleep 31.5$' >/dev/null && break; sleep 0.1; done; kill -TERM $!; wait $!; echo status=$?")
    assert.matches("status=143", out)
  end)

  H.root_it("is PID 1, with the command as its child; init = false makes the command PID 1", function()
    local recipe = { namespaces = { "pid", "mount" }, mounts = { { type = "proc", target = "/proc" } } }
    assert.equal("2 nsbox-init\n", (H.capture(recipe, { "sh", "-c", "echo $$ $(cat /proc/1/comm)" })))
    recipe.init = false
    assert.equal("1\n", (H.capture(recipe, { "sh", "-c", "echo $$" })))
  end)
end)

-- A Lua chunk run with nsbox loaded under `script`, typing input after a pause.
local function lua_on_terminal(code, input)
  return on_terminal("stty rows 33 cols 77; lua -e " .. H.quote('local nsbox = require "nsbox"; ' .. code), input)
end

describe("tty = true", function()
  local PID = '{ namespaces = { "user", "pid", "mount" }, mounts = { { type = "proc", target = "/proc" } }, '
    .. 'tty = true }'

  it("gives the command a terminal of its own, the size of the caller's, in the foreground", function()
    local out = lua_on_terminal(("print(nsbox.run(%s, { 'sh', '-c', 'tty; stty size; ps -o stat=,comm=' }))")
      :format(PID))
    out = out:gsub("\r", "")
    assert.matches("^/dev/pts/%d+\n33 77\n", out)
    assert.matches("\nSs +nsbox%-init\nS%+ +sh\n", out)
    assert.matches("\ntrue\texit\t0\n", out)
  end)

  it("follows the caller's window size when it changes (SIGWINCH)", function()
    -- stty on the terminal of `script` resizes it, and the kernel sends its foreground (nsbox) SIGWINCH
    local out = on_terminal("stty rows 33 cols 77; (sleep 0.7; stty rows 20 cols 50 </dev/tty) & lua -e "
      .. H.quote(('local nsbox = require "nsbox"; nsbox.run(%s, { "sh", "-c", "sleep 1.5; stty size" })'):format(PID)))
    assert.matches("^20 50\r?\n", out)
  end)

  H.root_it("finds the terminal in a root filesystem's own devpts", function()
    local B = require "support.busybox"
    local rootfs = B.rootfs()
    finally(function() B.remove(rootfs) end)
    local out = lua_on_terminal(("print(nsbox.run({ namespaces = { 'pid', 'mount' }, rootfs = %q, tty = true, "
      .. "mounts = { { type = 'proc', target = '/proc' }, { type = 'dev', target = '/dev' } } }, "
      .. "{ '/bin/sh', '-c', 'tty' }))"):format(rootfs))
    assert.matches("^/dev/pts/0\r?\n", out)
  end)

  it("puts the caller's terminal back as it was, also when the command fails or cannot start", function()
    local out = on_terminal("stty -g; lua -e " .. H.quote('local nsbox = require "nsbox"; '
      .. ("nsbox.run(%s, { 'sh', '-c', 'exit 3' }); nsbox.run(%s, { 'no-such-command' })"):format(PID, PID))
      .. "; stty -g")
    local before, after = out:match("^(%S+)\r?\n(%S+)\r?\n$")
    assert.is_truthy(before, out)
    assert.equal(before, after)
  end)

  it("passes Ctrl-C typed at the caller's terminal to the command: status 130", function()
    local out = on_terminal("lua -e " .. H.quote('local nsbox = require "nsbox"; '
      .. ("local ok, how, code = nsbox.run(%s, { 'sleep', '30' }); print(how, code)"):format(PID)), "\3")
    assert.matches("signal\t2", out)
  end)

  it("hands the terminal to the caller with spawn's tty option", function()
    local p = assert(nsbox.spawn({ namespaces = { "user" } }, { "sh", "-c", "read line; echo got $line" },
      { tty = true }))
    p.tty:setvbuf("no")
    p.tty:write("hello\n")
    local seen = {}
    for _ = 1, 3 do
      local line = p.tty:read("l")
      if not line then break end
      seen[#seen + 1] = line:gsub("\r", "")
    end
    assert.same({ true, "exit", 0 }, { p:wait() })
    assert.same({ "hello", "got hello" }, { seen[1], seen[2] })
  end)

  it("refuses streams beside a terminal, naming them", function()
    assert.matches("'options.stdout' cannot be used with a terminal",
      select(2, pcall(nsbox.spawn, { tty = true }, { "true" }, { stdout = "null" })))
  end)

  it("leaves no descriptor or zombie behind over 1,000 spawns with terminals", function()
    local us = H.slurp("/proc/self/stat"):match("^(%d+)")
    local function fds()
      collectgarbage() -- files of earlier specs, no longer referenced
      return select(2, H.sh("ls /proc/" .. us .. "/fd"):gsub("%d+", ""))
    end
    local before = fds()
    for _ = 1, 1000 do
      local p = assert(nsbox.spawn({}, { "true" }, { tty = true }))
      assert(p:wait())
      p.tty:close()
    end
    assert.equal(before, fds())
    assert.equal("", (H.sh("ps -o stat= --ppid " .. us .. " | grep Z")))
  end)
end)
