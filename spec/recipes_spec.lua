-- The recipe scripts, run as a user runs them: `lua recipes/NAME.lua CMD...`.
local H = require "helpers"

local function ns_ids(text)
  local ids = {}
  for name, id in text:gmatch("(%S+) (%S+)") do ids[name] = id end
  return ids
end

local NS_FILES = { "cgroup", "ipc", "mnt", "net", "pid_for_children", "user", "uts" }
local READ_NS = "for n in " .. table.concat(NS_FILES, " ") .. "; do echo $n $(readlink /proc/self/ns/$n); done"

-- Which of our namespaces a recipe's command sees differently from the host.
local function changed_namespaces(name, opts)
  local host = ns_ids(H.sh(READ_NS))
  local out, err, code = H.recipe(name, { "sh", "-c", READ_NS }, opts)
  assert.equal(0, code, err)
  local changed = {}
  for n, id in pairs(ns_ids(out)) do
    if id ~= host[n] then changed[#changed + 1] = n end
  end
  table.sort(changed)
  return changed
end

describe("recipes", function()
  H.root_it("uts.lua sets the hostname inside and leaves the host's alone", function()
    local before = H.hostname()
    local out, err, code = H.recipe("uts", { "hostname" })
    assert.equal(0, code, err)
    assert.equal("nsbox", H.trim(out))
    assert.equal(before, H.hostname())
    assert.same({ "uts" }, changed_namespaces("uts"))
  end)

  H.root_it("ipc.lua hides a message queue made on the host", function()
    local out = H.sh("ipcmk -Q")
    local id = assert(out:match("(%d+)"), out)
    finally(function() H.sh("ipcrm -q " .. id) end)
    assert.matches("\n0x%x+ +" .. id .. " ", H.sh("ipcs -q"))
    local inside, err, code = H.recipe("ipc", { "ipcs", "-q" })
    assert.equal(0, code, err)
    assert.not_matches("\n0x%x+ +" .. id .. " ", inside)
    assert.same({ "ipc" }, changed_namespaces("ipc"))
  end)

  H.root_it("pid.lua runs CMD under an init, and ps shows only the namespace's processes", function()
    local out, err, code = H.recipe("pid", { "sh", "-c", "echo $$; ps -e -o pid=,comm=" })
    assert.equal(0, code, err)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = H.trim(line) end
    assert.same({ "2", "1 nsbox-init", "2 sh", "3 ps" }, lines)
    assert.same({ "mnt", "pid_for_children" }, changed_namespaces("pid"))
  end)

  H.root_it("mount.lua keeps a tmpfs mounted inside away from the host", function()
    local target = H.trim(H.sh("mktemp -d"))
    finally(function() H.sh("rmdir " .. target) end)
    local out, err, code = H.recipe("mount", { "sh", "-c",
      "mount -t tmpfs nsbox-spec " .. target .. " && cat /proc/self/mountinfo" })
    assert.equal(0, code, err)
    assert.is_true(H.mount_points(out)[target], "tmpfs not mounted inside")
    assert.is_nil(H.mount_points(H.slurp("/proc/self/mountinfo"))[target])
    assert.not_matches("nsbox%-spec", H.slurp("/proc/self/mountinfo"))
    assert.same({ "mnt" }, changed_namespaces("mount"))
  end)

  H.root_it("net.lua holds only lo, and lo is up", function()
    local out, err, code = H.recipe("net", { "ip", "-o", "link" })
    assert.equal(0, code, err)
    local _, links = out:gsub("\n", "")
    assert.equal(1, links, out)
    assert.matches("^1: lo: <LOOPBACK,UP,LOWER_UP>", out)
    assert.same({ "net" }, changed_namespaces("net"))
  end)

  H.root_it("user.lua maps the caller to root inside, as root and as nobody", function()
    local out, err, code = H.recipe("user", { "id", "-u" })
    assert.equal(0, code, err)
    assert.equal("0", H.trim(out))
    out, err, code = H.recipe("user", { "id", "-u" }, { nobody = true })
    assert.equal(0, code, err)
    assert.equal("0", H.trim(out))
    out = H.recipe("user", { "cat", "/proc/self/uid_map" }, { nobody = true })
    assert.same({ "0", "65534", "1" }, { out:match("(%d+)%s+(%d+)%s+(%d+)") })
    assert.same({ "user" }, changed_namespaces("user"))
  end)

  H.root_it("all.lua isolates every namespace at once, also for an unprivileged user", function()
    for _, opts in ipairs { {}, { nobody = true } } do
      local out, err, code = H.recipe("all", { "sh", "-c",
        "id -u; hostname; echo $$; ip -o link | wc -l; ps -e -o pid=,comm=" }, opts)
      assert.equal(0, code, err)
      local lines = {}
      for line in out:gmatch("[^\n]+") do lines[#lines + 1] = H.trim(line):gsub("^(%d+) (%a+)$", function(pid, comm)
        return pid == "1" and "1 " .. comm or comm
      end) end
      assert.same({ "0", "nsbox", "2", "1", "1 nsbox-init", "sh", "ps" }, lines)
      assert.same({ "cgroup", "ipc", "mnt", "net", "pid_for_children", "user", "uts" }, changed_namespaces("all", opts))
    end
  end)
end)

describe("recipe scripts' exit status", function()
  H.root_it("is the command's own status", function()
    local _, _, code = H.recipe("uts", { "sh", "-c", "exit 7" })
    assert.equal(7, code)
  end)

  H.root_it("is 128+N when the command dies of signal N", function()
    local _, _, code = H.recipe("uts", { "sh", "-c", "kill -KILL $$" })
    assert.equal(137, code)
  end)

  H.root_it("is 127 when the command is not found, 126 when it cannot be executed", function()
    local _, err, code = H.recipe("uts", { "no-such-command-nsbox" })
    assert.equal(127, code)
    assert.matches("^nsbox: exec no%-such%-command%-nsbox %(step 2%): No such file or directory\n$", err)
    local file = os.tmpname()
    finally(function() os.remove(file) end)
    _, err, code = H.recipe("uts", { file })
    assert.equal(126, code)
    assert.matches("%(step 2%): Permission denied", err)
    H.sh("echo garbage > " .. file .. "; printf '\\001\\002' >> " .. file .. "; chmod +x " .. file)
    _, err, code = H.recipe("uts", { file })
    assert.equal(126, code)
    assert.matches("%(step 2%): Exec format error", err)
  end)

  H.root_it("is 125 with an nsbox: message saying why a user namespace was refused", function()
    -- user.max_user_namespaces belongs to a user namespace: set to 0 in a throwaway one, not the host's
    local _, err, code = H.sh("unshare --user --map-root-user sh -c "
      .. "'echo 0 > /proc/sys/user/max_user_namespaces && exec lua recipes/user.lua true'")
    assert.equal(125, code)
    assert.equal("nsbox: clone: No space left on device: user namespaces are disabled "
      .. "(user.max_user_namespaces is 0); enable them with: sysctl -w user.max_user_namespaces=15000\n", err)
  end)

  H.root_it("gives an unprivileged caller a user namespace with the namespaces it asks for", function()
    local out, err, code = H.recipe("uts", { "sh", "-c", "hostname; id -u" }, { nobody = true })
    assert.equal(0, code, err)
    assert.equal("nsbox\n0\n", out)
  end)

  H.root_it("runs /bin/sh when no command is given, with stdin passed through", function()
    local out, err, code = H.sh("echo 'hostname; exit 4' | lua recipes/uts.lua")
    assert.equal(4, code, err)
    assert.equal("nsbox", H.trim(out))
  end)
end)

describe("NSBOX_LOG=debug", function()
  H.root_it("prints the namespaces, every step, the command, the pid and its end", function()
    local _, err, code = H.recipe("pid", { "true" }, { env = "NSBOX_LOG=debug" })
    assert.equal(0, code)
    local expected = {
      "nsbox: namespaces: pid, mount",
      "nsbox: step 1: make / private %(recursive%)",
      "nsbox: step 2: mount proc on /proc",
      "nsbox: step 3: exec true",
      "nsbox: Running %[true%]",
      "nsbox: started pid %d+",
      "nsbox: pid %d+ exited with status 0",
    }
    local i = 0
    for line in err:gmatch("[^\n]+") do
      i = i + 1
      assert.matches("^" .. expected[i] .. "$", line)
    end
    assert.equal(#expected, i)
  end)

  H.root_it("is silent by default", function()
    local _, err = H.recipe("pid", { "true" })
    assert.equal("", err)
  end)
end)

describe("recipe scripts on a terminal", function()
  -- script(1) runs the recipe on a new pseudo-terminal, as a person would type it
  local function on_terminal(recipe, typed)
    return H.sh("(sleep 0.5; " .. typed .. ") | script -qec " .. H.quote("lua recipes/" .. recipe) .. " /dev/null")
  end

  H.root_it("give an interactive shell job control, and exit with its status", function()
    local out, _, code = on_terminal("pid.lua", "printf 'sleep 3 &\\njobs\\nexit 5\\n'")
    assert.equal(5, code)
    assert.matches("%[1%] %+ Running +sleep 3", out)
    assert.not_matches("job control turned off", out)
    assert.not_matches("Cannot set tty process group", out)
  end)

  H.root_it("pass the terminal's Ctrl-C to the sandbox", function()
    local _, _, code = on_terminal("locked.lua sleep 30", "printf '\\003'")
    assert.equal(130, code)
  end)
end)
