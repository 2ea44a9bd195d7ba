-- Runs last (busted sorts spec files): the suite left the host as it found it.
local H = require "helpers"

describe("after the suite, the host", function()
  local before = H.slurp("build/host-before.txt")

  if not before then
    pending("is unchanged (skipped: no snapshot; run the suite with `make test`)")
    return
  end

  it("has the same hostname, domain name, mounts, zombies and namespaced processes", function()
    local after = H.sh("sh spec/support/host-state.sh")
    assert.equal(before, after)
  end)
end)
