-- nsbox.namespaces and nsbox.list, checked against readlink, stat and
-- util-linux lsns; recipes/lsns.lua run as a user runs it.
local H = require "helpers"
local lsns = require "nsbox.lsns"

local ESRCH, EPERM, EACCES = 3, 1, 13

local function my_pid()
  local f = assert(io.open("/proc/self/stat"))
  local pid = f:read("n")
  f:close()
  return math.tointeger(pid)
end

local function wait_until(what, ok)
  for _ = 1, 100 do
    if ok() then return end
    os.execute("sleep 0.05")
  end
  error("timed out waiting until " .. what)
end

local function runs(pid, program)
  return function() return H.trim(H.slurp(("/proc/%d/comm"):format(pid)) or "") == program end
end

-- Start `exec CMD` as our own child, killed and reaped when the spec ends:
-- orphans would become zombies, as this host's PID 1 does not reap them.
-- Returns its pid once it runs `program`, the namespaces CMD makes in place.
local function start(cmd, program)
  local p = assert(io.popen("echo $$; exec " .. cmd))
  local pid = math.tointeger(tonumber(p:read("l")))
  finally(function()
    os.execute("kill " .. pid .. " 2>/dev/null")
    p:close()
  end)
  wait_until(program .. " runs", runs(pid, program))
  return pid
end

local function readlink(pid, t)
  return H.trim(H.sh(("readlink /proc/%d/ns/%s"):format(pid, t)))
end

local function assert_identities(pid, ids)
  local files = {}
  for name in H.sh(("ls /proc/%d/ns"):format(pid)):gmatch("%S+") do files[#files + 1] = name end
  assert.is_true(#files >= 7)
  for _, t in ipairs(files) do
    local ns = assert(ids[t], "no entry for " .. t)
    local stat = H.trim(H.sh(("stat -L -c '%%i %%d' /proc/%d/ns/%s"):format(pid, t)))
    assert.same({ type = t, id = readlink(pid, t), inode = ns.inode, dev = ns.dev }, ns)
    assert.equal(stat, ns.inode .. " " .. ns.dev)
  end
  local n = 0
  for _ in pairs(ids) do n = n + 1 end
  assert.equal(#files, n)
end

-- NS/TYPE pairs as a set of "4026531838 uts" words.
local function pairs_of_lsns()
  local set = {}
  for ns, t in H.sh("lsns -n -o NS,TYPE"):gmatch("(%d+)%s+(%S+)") do set[ns .. " " .. t] = true end
  return set
end

local function same_set(a, b)
  for k in pairs(a) do if not b[k] then return false end end
  for k in pairs(b) do if not a[k] then return false end end
  return true
end

local function pairs_of_list()
  local set = {}
  for _, ns in ipairs(lsns.list()) do set[ns.inode .. " " .. ns.type] = true end
  return set
end

local function find(list, inode)
  for _, ns in ipairs(list) do
    if ns.inode == inode then return ns end
  end
end

-- A process alone in a new UTS namespace.
local function start_in_new_uts()
  return start("unshare --uts sleep 41", "sleep")
end

describe("nsbox.namespaces", function()
  it("gives the identity of each of our namespaces as readlink and stat see it", function()
    local ids = assert(lsns.namespaces())
    assert_identities(my_pid(), ids)
    assert.same(ids, lsns.namespaces(my_pid()))
  end)

  it("gives another process's namespaces", function()
    local pid = start("sleep 41", "sleep")
    assert_identities(pid, assert(lsns.namespaces(pid)))
  end)

  it("returns nil, message, ESRCH for a process that is gone", function()
    local p = io.popen("echo $$")
    local pid = math.tointeger(tonumber(p:read("l")))
    p:close()
    local ok, message, errno = lsns.namespaces(pid)
    assert.is_nil(ok)
    assert.equal(("namespaces of pid %d: No such process"):format(pid), message)
    assert.equal(ESRCH, errno)
  end)

  H.root_it("returns nil, message, errno when the namespaces are not ours to read", function()
    local script = ("package.path = 'lua/?.lua;' .. package.path; package.cpath = 'build/?.so;' .. package.cpath;"
      .. "print(require('nsbox.lsns').namespaces(%d))"):format(my_pid())
    local out, err, code = H.sh(H.NOBODY .. "lua -e " .. H.quote(script))
    assert.equal(0, code, err)
    local message, errno = out:match("^nil\t(.-)\t(%d+)\n$")
    assert.equal(("namespaces of pid %d: Permission denied"):format(my_pid()), message)
    assert.is_truthy(tonumber(errno) == EACCES or tonumber(errno) == EPERM)
  end)

  H.root_it("sees a process in a new UTS namespace apart from ours", function()
    local pid = start_in_new_uts()
    local mine, theirs = lsns.namespaces(), assert(lsns.namespaces(pid))
    assert.are_not.equal(mine.uts.id, theirs.uts.id)
    assert.equal(mine.net.id, theirs.net.id)
    assert.equal(readlink(pid, "uts"), theirs.uts.id)
  end)

  it("raises an error naming the argument for a pid that is not a number", function()
    assert.has_error(function() lsns.namespaces("1") end,
      "bad argument #1 to 'namespaces' (pid must be an integer from 1 to 2147483647, got string)")
    assert.has_error(function() lsns.namespaces(0) end)
  end)
end)

describe("nsbox.list", function()
  H.root_it("lists the same namespaces as `lsns -n -o NS,TYPE`", function()
    -- Other processes come and go: compare only when lsns saw the same twice around our walk.
    local before, ours, after
    for _ = 1, 5 do
      before, ours, after = pairs_of_lsns(), pairs_of_list(), pairs_of_lsns()
      if same_set(before, after) and same_set(before, ours) then break end
    end
    assert.same(before, ours)
  end)

  it("holds each of our namespaces, sorted by inode, one entry per namespace", function()
    local list, mine = lsns.list(), lsns.namespaces()
    for i = 2, #list do assert.is_true(list[i - 1].inode < list[i].inode) end
    for _, t in ipairs(lsns.TYPES) do
      local ns = assert(find(list, mine[t].inode), t)
      assert.equal(t, ns.type)
      assert.equal(mine[t].id, ns.id)
      assert.is_true(ns.nprocs >= 1 and ns.pid <= my_pid())
    end
    for _, ns in ipairs(list) do assert.not_matches("_for_children", ns.type) end
  end)

  H.root_it("counts a process in a new namespace like lsns does", function()
    local p = assert(io.popen("echo $$; exec unshare --uts sh -c 'sleep 41 & echo $!; wait'"))
    local pid = math.tointeger(tonumber(p:read("l")))
    local child = math.tointeger(tonumber(p:read("l")))
    -- sh's wait returns once its child is killed, and then sh ends: neither is orphaned.
    finally(function()
      os.execute("kill " .. child)
      p:close()
    end)
    wait_until("sleep runs", runs(child, "sleep"))
    local inode = lsns.namespaces(pid).uts.inode
    local ns = assert(find(lsns.list("uts"), inode))
    assert.same({ type = "uts", inode = inode, id = ("uts:[%d]"):format(inode), nprocs = 2,
      pid = math.min(pid, child), uid = 0, user = "root", command = "sh -c sleep 41 & echo $!; wait" }, ns)
    local line = H.sh("lsns -n -l -o NS,NPROCS,PID,USER,COMMAND -t uts | grep '^" .. inode .. " '")
    assert.equal(("%d 2 %d root sh -c sleep 41 & echo $!; wait"):format(inode, ns.pid),
      (H.trim(line):gsub("%s+", " ", 4)))
  end)

  it("lists only the type asked for, with mount as another name for mnt", function()
    local mnt = lsns.list("mount")
    assert.is_true(#mnt >= 1)
    for _, ns in ipairs(mnt) do assert.equal("mnt", ns.type) end
    assert.truthy(find(mnt, lsns.namespaces().mnt.inode))
    for _, ns in ipairs(lsns.list("net")) do assert.equal("net", ns.type) end
  end)

  it("raises an error naming an unknown type and the known ones", function()
    assert.has_error(function() lsns.list("bogus") end,
      "nsbox.list: unknown namespace type 'bogus'; known: cgroup, ipc, mnt (or mount), net, pid, time, user, uts")
    assert.has_error(function() lsns.list("pid_for_children") end)
    assert.has_error(function() lsns.list(1) end, "bad argument #1 to 'list' (namespace type expected, got number)")
  end)
end)

describe("recipes/lsns.lua", function()
  H.root_it("prints lsns's columns, with a row for a new namespace", function()
    local pid = start_in_new_uts()
    local inode = lsns.namespaces(pid).uts.inode
    local out, err, code = H.recipe("lsns", { "uts" })
    assert.equal(0, code, err)
    local header = out:match("^[^\n]*")
    assert.matches("^ *NS TYPE +NPROCS +PID USER +COMMAND$", header)
    local row = out:match("\n(" .. inode .. " [^\n]*)")
    assert.matches(("^%d uts +1 +%d root +sleep 41$"):format(inode, pid), row)
    -- NS is right-aligned under its title; COMMAND starts under its title.
    assert.equal(#header:match("^ *NS"), #tostring(inode))
    assert.equal(header:find("COMMAND"), row:find("sleep 41"))
  end)

  it("prints the namespaces of every type by default", function()
    local out, err, code = H.recipe("lsns", {})
    assert.equal(0, code, err)
    local mine = lsns.namespaces()
    assert.matches("\n" .. mine.uts.inode .. " uts ", out)
    assert.matches("\n" .. mine.mnt.inode .. " mnt ", out)
  end)

  it("exits 125 with a message for an unknown type", function()
    local out, err, code = H.recipe("lsns", { "bogus" })
    assert.equal(125, code)
    assert.equal("", out)
    assert.matches("^nsbox: unknown namespace type 'bogus'; known: cgroup, ipc, mnt", err)
  end)
end)
