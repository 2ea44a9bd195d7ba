-- `nsbox lsns` and `nsbox enter`, run as a user runs them.
local nsbox = require "nsbox"
local H = require "helpers"

describe("nsbox lsns", function()
  it("prints lsns's columns, the same as lua recipes/lsns.lua", function()
    local out, err, code = H.nsbox { "lsns", "user" }
    assert.same({ "", 0 }, { err, code })
    assert.matches("^ +NS TYPE +NPROCS +PID USER +COMMAND\n", out)
    assert.matches("\n" .. nsbox.namespaces().user.inode .. " user ", out)
  end)

  it("-J prints JSON shaped like lsns -J, keys in lsns's order", function()
    local out, err, code = H.nsbox { "lsns", "-J", "net" }
    assert.same({ "", 0 }, { err, code })
    local list = require("cjson").decode(out).namespaces
    local mine = nsbox.namespaces().net.inode
    local found
    for _, ns in ipairs(list) do
      assert.equal("net", ns.type)
      if ns.ns == mine then found = ns end
    end
    assert.truthy(found, out)
    assert.same({ "command", "nprocs", "ns", "pid", "type", "user" }, require("nsbox.check").sorted_names(found))
    assert.matches('^{\n  "namespaces": %[\n    {"ns": %d+, "type": "net", "nprocs": %d+, "pid": %d+, "user": ', out)
  end)

  it("refuses an unknown type and extra words", function()
    assert.same({ "", "nsbox: unknown namespace type 'bogus'; known: cgroup, ipc, mnt (or mount), net, pid, time, "
      .. "user, uts\n", 125 }, { H.nsbox { "lsns", "bogus" } })
    assert.same({ "", "nsbox: usage: nsbox lsns [TYPE] [-J]\n", 125 }, { H.nsbox { "lsns", "net", "uts" } })
  end)
end)

describe("nsbox enter", function()
  H.root_it("enters every namespace of PID, as uid 0 of its user namespace unless --preserve-credentials", function()
    local target = assert(nsbox.spawn({ namespaces = { "user", "uts" }, unprivileged = true, hostname = "t" },
      { "sleep", "60" }))
    finally(function() target:kill("KILL"); target:wait() end)
    local pid = tostring(target.pid)
    assert.same({ "0 0\nt\n", "", 0 }, { H.nsbox { "enter", pid, "sh", "-c", "echo $(id -u) $(id -g); hostname" } })
    assert.same({ "65534 65534\n", "", 0 },
      { H.nsbox { "enter", "--preserve-credentials", pid, "sh", "-c", "echo $(id -u) $(id -g)" } })
  end)

  it("gives its usage without a pid", function()
    assert.same({ "", "nsbox: usage: nsbox enter [--preserve-credentials] PID [CMD [ARG...]]\n", 125 },
      { H.nsbox { "enter" } })
  end)
end)
