-- Composing and validating recipes: every mistake is an error naming the key,
-- raised before anything is cloned.
local nsbox = require "nsbox"
local H = require "helpers"

local recipe_error = H.recipe_error

describe("nsbox.recipe validation", function()
  it("names an unknown key and suggests the closest known one", function()
    local err = recipe_error { namespaces = { "uts" }, hostnme = "x" }
    assert.matches("unknown key 'hostnme' %(did you mean 'hostname'%?%)", err)
  end)

  it("reports the line of the caller", function()
    local ok, err = pcall(function() local r = nsbox.recipe { bogus = true }; return r end)
    assert.is_false(ok)
    assert.matches("^spec/recipe_spec.lua:%d+: nsbox.recipe: unknown key 'bogus'$", err)
  end)

  it("rejects a wrong type", function()
    assert.matches("'hostname' must be a string, got number",
      recipe_error { namespaces = { "uts" }, hostname = 42 })
    assert.matches("'namespaces' must be a table, got string", recipe_error { namespaces = "uts" })
  end)

  it("rejects a namespace name that does not exist", function()
    local err = recipe_error { namespaces = { "uts", "utx" } }
    assert.matches("namespaces%[2%]: unknown namespace 'utx' %(did you mean 'uts'%?%)", err)
    assert.matches("known: cgroup, ipc, mount, net, pid, time, user, uts", err)
  end)

  it("rejects hostname and domainname without the uts namespace", function()
    assert.matches("'hostname' needs the 'uts' namespace", recipe_error { hostname = "box" })
    assert.matches("'domainname' needs the 'uts' namespace", recipe_error { domainname = "lan" })
  end)

  it("rejects a hostname over 64 bytes", function()
    local err = recipe_error { namespaces = { "uts" }, hostname = ("h"):rep(65) }
    assert.matches("'hostname' must be 1 to 64 bytes, got 65", err)
    assert.equal(("h"):rep(64), nsbox.recipe({ namespaces = { "uts" }, hostname = ("h"):rep(64) }).hostname)
  end)

  it("rejects a relative mount target", function()
    local err = recipe_error { namespaces = { "mount" }, mounts = { { type = "tmpfs", target = "tmp" } } }
    assert.matches("'mounts%[1%].target' must be an absolute path, got 'tmp'", err)
  end)

  it("rejects a mount without the mount namespace", function()
    local err = recipe_error { mounts = { { type = "proc", target = "/proc" } } }
    assert.matches("'mounts%[1%]' needs the 'mount' namespace", err)
  end)

  it("rejects an unknown mount type and unknown mount keys", function()
    assert.matches("unknown mount type 'tmpf' %(did you mean 'tmpfs'%?%)",
      recipe_error { namespaces = { "mount" }, mounts = { { type = "tmpf", target = "/t" } } })
    assert.matches("mounts%[1%]: unknown key 'sise' %(did you mean 'size'%?%)",
      recipe_error { namespaces = { "mount" }, mounts = { { type = "tmpfs", target = "/t", sise = "1m" } } })
  end)

  it("rejects a uid map with a count below 1", function()
    local err = recipe_error { namespaces = { "user" }, uid_map = { { 0, 1000, 0 } } }
    assert.matches("'uid_map%[1%].count' must be an integer from 1 to 4294967295, got 0", err)
  end)

  it("rejects overlapping map ranges", function()
    local err = recipe_error { namespaces = { "user" }, uid_map = { { 0, 100000, 10 }, { 5, 200000, 10 } } }
    assert.matches("'uid_map%[2%]' overlaps uid_map%[1%] on the inside ids", err)
    err = recipe_error { namespaces = { "user" }, gid_map = { { 0, 100000, 10 }, { 20, 100005, 1 } } }
    assert.matches("'gid_map%[2%]' overlaps gid_map%[1%] on the outside ids", err)
  end)

  it("rejects a map without the user namespace", function()
    assert.matches("'uid_map' needs the 'user' namespace", recipe_error { uid_map = { { 0, 0, 1 } } })
  end)

  it("rejects loopback without the net namespace and a bad env", function()
    assert.matches("'loopback' needs the 'net' namespace", recipe_error { loopback = true })
    assert.matches("'env.HOME' must be a string, or false", recipe_error { env = { HOME = 1 } })
  end)
end)

describe("nsbox.recipe composition", function()
  it("merges fragments in order: later wins, lists append, env merges", function()
    local r = nsbox.recipe(
      { namespaces = { "uts" }, hostname = "a", env = { A = "1" }, mounts = {} },
      { namespaces = { "mount", "uts" }, hostname = "b", env = { B = "2" },
        mounts = { { type = "tmpfs", target = "/tmp" } } })
    -- an unprivileged caller also gets the user namespace that makes the others possible
    assert.same(H.root and { "uts", "mount" } or { "user", "uts", "mount" }, r.namespaces)
    assert.equal("b", r.hostname)
    assert.same({ A = "1", B = "2" }, r.env)
    assert.equal("/tmp", r.mounts[1].target)
  end)

  it("accepts a recipe as a fragment", function()
    local base = nsbox.recipe { namespaces = { "uts" }, hostname = "base" }
    local r = nsbox.recipe(base, { hostname = "derived" })
    assert.equal("derived", r.hostname)
    assert.equal("base", base.hostname)
  end)

  it("normalizes ro_bind to a read-only recursive bind", function()
    local r = nsbox.recipe {
      namespaces = { "mount" }, mounts = { { type = "ro_bind", source = "/usr", target = "/usr" } },
    }
    assert.same({ type = "bind", source = "/usr", target = "/usr", readonly = true, recursive = true }, r.mounts[1])
  end)

  it("compiles a plan whose steps say what they do, private propagation first", function()
    local c = nsbox.compile { namespaces = { "uts", "mount", "net" }, hostname = "box",
      mounts = { { type = "tmpfs", target = "/mnt", size = "1m", mode = "1777" } } }
    local descs = {}
    for i, step in ipairs(c.plan.steps) do descs[i] = step.desc end
    assert.same({ "make / private (recursive)", "bring lo up", "set hostname to box", "mount tmpfs on /mnt" }, descs)
    assert.same({ "nosuid", "nodev", "size=1m", "mode=1777" }, c.plan.steps[4].options)
  end)

  it("maps the caller to root by default in a user namespace", function()
    local _, _, euid, egid = nsbox.core.ids()
    local c = nsbox.compile { namespaces = { "user" } }
    assert.equal(("0 %d 1\n"):format(euid), c.plan.uid_map)
    assert.equal(("0 %d 1\n"):format(egid), c.plan.gid_map)
  end)
end)
