-- The command's standard streams and descriptors, from Lua: spawn's stdin,
-- stdout, stderr and fds options, and nsbox.capture.
local nsbox = require "nsbox"
local H = require "helpers"

local PID = { namespaces = { "user", "pid", "mount" }, mounts = { { type = "proc", target = "/proc" } } }

-- This process's pid (/proc/self, opened by us) and how many descriptors it holds.
local PID_OF_US = H.slurp("/proc/self/stat"):match("^(%d+)")

-- How many descriptors we hold, and what they are (for the failure message).
local function open_fds()
  local listing = H.sh("ls -l /proc/" .. PID_OF_US .. "/fd")
  return select(2, listing:gsub("\n%S+[^\n]* %d+ %-> ", "")), listing
end

describe("spawn's streams", function()
  it("are pipes with our ends on the handle, stderr joining stdout when asked", function()
    local p = assert(nsbox.spawn(PID, { "sh", "-c", "tr a-z A-Z; echo err >&2" },
      { stdin = "pipe", stdout = "pipe", stderr = "stdout" }))
    p.stdin:write("hello\n")
    p.stdin:close()
    assert.equal("HELLO\nerr\n", p.stdout:read("a"))
    assert.same({ true, "exit", 0 }, { p:wait() })
  end)

  it("take /dev/null, a Lua file, or a descriptor number of ours", function()
    local f = assert(io.open("spec/fixtures/oci/runc/config.json"))
    local first = f:read("l")
    f:seek("set")
    assert.equal(first .. "\n", (nsbox.capture(PID, { "head", "-n", "1" }, { stdin = f })))
    assert.equal("", (nsbox.capture(PID, { "cat" }, { stdin = "null" })))
    local out = H.temp_dir() .. "/out"
    local w = assert(io.open(out, "w"))
    w:write("before\n")
    assert(nsbox.run(PID, { "echo", "inside" }, { stdout = w }))
    w:close()
    assert.equal("before\ninside\n", H.slurp(out))
    f:close()
  end)

  it("carry 10 MiB through a pipe without a deadlock", function()
    local output, ok = nsbox.capture(PID, { "head", "-c", "10485760", "/dev/zero" })
    assert.is_true(ok)
    assert.equal(10485760, #output)
  end)

  it("pass descriptors at the numbers given and nothing else", function()
    local f = assert(io.open("/etc/hostname"))
    local out = nsbox.capture(PID, { "sh", "-c", "cat <&7; ls /proc/self/fd" }, { fds = { [7] = f } })
    f:close()
    -- 3 is the directory ls itself reads
    assert.equal(H.slurp("/etc/hostname") .. "0\n1\n2\n3\n7\n", out)
  end)

  H.root_it("work for an unprivileged caller too", function()
    local out, err, code = H.sh(H.NOBODY .. "lua -e " .. H.quote('local nsbox = require "nsbox"; '
      .. 'io.write((nsbox.capture({ namespaces = { "uts" }, hostname = "mine" }, { "hostname" })))'))
    assert.same({ "mine\n", "", 0 }, { out, err, code })
  end)

  it("refuse bad values, naming the option", function()
    local function refusal(options) return select(2, pcall(nsbox.spawn, PID, { "true" }, options)) end
    assert.matches("'options.stdin' must be a Lua file, a descriptor number, or one of \"null\", \"pipe\"; got pipx",
      refusal { stdin = "pipx" })
    assert.matches("'options.fds' keys must be descriptor numbers from 3 to 1023, got 2", refusal { fds = { [2] = 1 } })
    assert.matches("'options.fds%[5%]' must be a Lua file, a descriptor number, or one of \"null\"; got pipe",
      refusal { fds = { [5] = "pipe" } })
    local closed = io.open("/etc/hostname")
    closed:close()
    assert.matches("'options.stdout' is a closed file", refusal { stdout = closed })
    assert.matches("descriptor 999, for the command's 9, is not open", refusal { fds = { [9] = 999 } })
    assert.matches("'options.stdout': nsbox.capture reads the command's stdout itself",
      select(2, pcall(nsbox.capture, PID, { "true" }, { stdout = 1 })))
  end)

  it("leave no descriptor or zombie behind over 1,000 spawns with pipes", function()
    local before, listed = open_fds()
    for _ = 1, 1000 do
      local p = assert(nsbox.spawn({}, { "true" }, { stdin = "pipe", stdout = "pipe", stderr = "null" }))
      p.stdin:close()
      p.stdout:read("a")
      p.stdout:close()
      assert(p:wait())
    end
    collectgarbage()
    local after, listing = open_fds()
    assert.equal(before, after, "before:\n" .. listed .. "after:\n" .. listing)
    assert.equal("", (H.sh("ps -o stat= --ppid " .. PID_OF_US .. " | grep Z")))
  end)
end)
