-- Runs last (busted sorts spec files): the suite left the host as it found it.
local H = require "helpers"

describe("after the suite, the host", function()
  local before = H.slurp("build/host-before.txt")

  if not (before and os.getenv("NSBOX_SUBREAPER")) then
    pending("is unchanged (skipped: no snapshot or subreaper; run the suite with `make test`)")
    return
  end

  it("has the same hostname, domain name, mounts, nsbox cgroups and scratch files, and no process of the suite's",
    function()
    local after = H.sh("sh spec/support/host-state.sh")
    assert.equal(before, after)
  end)
end)
