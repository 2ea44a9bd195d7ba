-- make bench, networks: the cost of a spawn with each network mode against
-- the plain `net` namespace (lo only). Run by bench/run.sh as root inside a
-- network namespace of its own (unshare --net), with NSBOX_NET_DIR a temp
-- dir: the bridge, NAT table and leases are made there, never on the host.
-- Settings: BENCH_NET_N spawns per round (default 100), BENCH_ROUNDS (7).

package.path = "lua/?.lua;lua/?/init.lua;bench/?.lua;" .. package.path
package.cpath = "build/?.so;build/bench/?.so;" .. package.cpath

local nsbox = require "nsbox"
local clock = require "clock"

local N = tonumber(os.getenv("BENCH_NET_N") or 100)
local ROUNDS = tonumber(os.getenv("BENCH_ROUNDS") or 7)

-- held: another sandbox keeps the bridge (and NAT table) in use meanwhile;
-- without it each spawn is the last user, creating and removing them.
local SHAPES = {
  { "net (lo only)", nil },
  { "veth, bridge kept by another sandbox", { mode = "veth" }, true },
  { "veth, nat = true, kept by another sandbox", { mode = "veth", nat = true }, true },
  { "veth, each spawn the bridge's only user", { mode = "veth" } },
  { "slirp4netns", { mode = "slirp4netns" } },
}

local function round(compiled)
  local start = clock.now()
  for _ = 1, N do
    local proc = assert(nsbox.spawn(compiled, { "/bin/true" }))
    assert(proc:wait())
  end
  return (clock.now() - start) / N
end

local function median(list)
  table.sort(list)
  return list[(#list + 1) // 2]
end

print("| network | spawn + wait, median of rounds (ms) | vs net |")
print("|---|---:|---:|")
local base
for _, shape in ipairs(SHAPES) do
  local compiled = nsbox.compile(nsbox.recipe { namespaces = { "net", "mount" }, network = shape[2] })
  local holder = shape[3] and assert(nsbox.spawn(compiled, { "sleep", "3600" }))
  round(compiled) -- warm up: the bridge and NAT table exist from here on, as for every sandbox but the first
  local samples = {}
  for i = 1, ROUNDS do samples[i] = round(compiled) end
  local t = median(samples)
  if holder then holder:kill(); holder:wait() end
  base = base or t
  print(("| %s | %.2f | %.1fx |"):format(shape[1], t * 1e3, t / base))
  io.stderr:write("bench: network ", shape[1], " done\n")
end
