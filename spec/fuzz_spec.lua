-- A short seeded run of the fuzzer (spec/support/fuzz.lua; `make fuzz` runs
-- a long one). It runs as a process of its own, so that a crash or a hang is
-- observed rather than suffered: `timeout` bounds the whole run.
local H = require "helpers"

describe("the fuzzer", function()
  it("finds no crash, hang, unnamed refusal or leftover in 400 seeded cases", function()
    local progress = os.tmpname()
    local out, err, code = H.sh("timeout -s KILL 300 lua spec/support/fuzz.lua 400 20240901 " .. progress)
    local last = H.slurp(progress)
    os.remove(progress)
    assert.equal("", err)
    assert.equal(0, code, out .. "(killed or crashed in " .. tostring(last) .. ")")
    local refused, accepted, spawned = out:match("(%d+) refused, (%d+) accepted, (%d+) spawned")
    assert.matches("0 failures", out)
    -- A run whose cases all end alike tests nothing.
    assert.is_true(tonumber(refused) > 0 and tonumber(accepted) > 0 and tonumber(spawned) > 0, out)
  end)
end)
