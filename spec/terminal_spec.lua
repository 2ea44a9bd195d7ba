-- Terminals, signals and the init a new PID namespace gets by default.
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
