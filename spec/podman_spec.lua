-- podman driving nsbox as its OCI runtime (through conmon), on a busybox
-- image imported from a local tarball: no registry, no network (always
-- --network none). With cgroupfs, podman makes /libpod_parent cgroups of its
-- own at each hierarchy's root and keeps images and containers under
-- /var/lib/containers: the spec notes what existed before and removes what
-- it added (its containers, its image, the cgroups podman made).
local H = require "helpers"
local B = require "support.busybox"

local IMAGE = "localhost/nsbox-spec-busybox:latest"
local PODMAN = "podman --runtime " .. H.quote(H.trim((H.sh("pwd"))) .. "/bin/nsbox") .. " --cgroup-manager cgroupfs"
-- podman's default rlimits (nofile, nproc 1048576) are above this host's hard limits, for runc too.
local RUN = PODMAN .. " run --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "

local have_podman = H.root and os.execute("command -v podman >/dev/null && command -v conmon >/dev/null")

local function podman_it(name, fn)
  if have_podman then return H.root_it(name, fn) end
  pending(name .. (H.root and " (skipped: podman or conmon is not installed)" or " (skipped: needs root)"))
end

-- stdout, stderr, exit code of a podman command line.
local function podman(line)
  return H.sh(RUN .. line)
end

local function cgroup_dirs(pattern)
  return (H.sh("find /sys/fs/cgroup -type d -path " .. H.quote(pattern) .. " 2>/dev/null | sort"))
end

describe("podman with nsbox as its runtime", function()
  local had_image, had_state_root, libpod_before, image_dir, vol
  setup(function()
    if not have_podman then return end
    had_image = select(3, H.sh("podman image exists " .. IMAGE)) == 0
    had_state_root = H.sh("ls -d /run/nsbox 2>/dev/null") ~= "" -- the runtime's default root, podman's
    libpod_before = cgroup_dirs("*/libpod_parent*")
    image_dir = B.rootfs { "bin", "etc", "tmp", "proc", "sys", "dev", "run", "var/tmp" }
    H.write(image_dir .. "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n")
    H.write(image_dir .. "/etc/group", "root:x:0:\nnobody:x:65534:\n")
    for _, applet in ipairs { "echo", "true", "env", "tty", "kill" } do
      assert(os.execute(("ln -s busybox %s/bin/%s"):format(H.quote(image_dir), applet)))
    end
    local _, err, code = H.sh(("tar -C %s -cf %s/image.tar bin etc tmp proc sys dev run var && podman import -q "
      .. "%s/image.tar %s"):format(image_dir, image_dir, image_dir, IMAGE))
    assert(code == 0, err)
    vol = H.trim((H.sh("mktemp -d /tmp/nsbox-vol.XXXXXX")))
    H.write(vol .. "/file", "from the host\n")
  end)
  teardown(function()
    if not have_podman then return end
    H.sh("podman ps -a --format '{{.Names}}' | grep '^nsbox-spec-' | xargs -r podman rm -f -t 0")
    if not had_image then H.sh("podman rmi -f " .. IMAGE) end
    -- podman's cgroups that were not there before, deepest first.
    local before = {}
    for dir in libpod_before:gmatch("[^\n]+") do before[dir] = true end
    local now = {}
    for dir in cgroup_dirs("*/libpod_parent*"):gmatch("[^\n]+") do
      if not before[dir] then now[#now + 1] = dir end
    end
    table.sort(now, function(a, b) return #a > #b end)
    for _, dir in ipairs(now) do os.remove(dir) end
    if not had_state_root then os.remove("/run/nsbox") end -- only when empty: every container is gone
    B.remove(image_dir)
    B.remove(vol)
  end)

  podman_it("runs and removes a container, passing its exit status through", function()
    local out, err, code = podman("--rm " .. IMAGE .. " sh -c 'echo hello; exit 3'")
    assert.equal(3, code, err)
    assert.equal("hello\n", out)
    assert.equal("", cgroup_dirs("*/libpod-*"))
  end)

  podman_it("applies --user, --hostname and -e", function()
    local out, err = podman("--rm --user 65534:65534 --hostname boxy -e GREETING=hi " .. IMAGE
      .. " sh -c 'id -u; hostname; echo $GREETING'")
    assert.equal("65534\nboxy\nhi\n", out, err)
  end)

  podman_it("binds a -v volume into a --read-only root, with a writable /tmp", function()
    local out, err = podman("--rm --read-only -v " .. vol .. ":/vol " .. IMAGE
      .. " sh -c 'cat /vol/file; touch /x 2>/dev/null || echo read-only; touch /tmp/y && echo tmp'")
    assert.equal("from the host\nread-only\ntmp\n", out, err)
  end)

  podman_it("drops and adds capabilities", function()
    local none = podman("--rm --cap-drop ALL " .. IMAGE .. " grep CapEff /proc/self/status")
    assert.equal("CapEff:\t0000000000000000\n", none)
    local admin = podman("--rm --cap-add SYS_ADMIN " .. IMAGE .. " grep CapEff /proc/self/status")
    assert.truthy(tonumber(admin:match("(%x+)\n$"), 16) & (1 << 21) ~= 0, admin)
  end)

  podman_it("puts the container in cgroups with --pids-limit and --memory", function()
    local out, err = podman("--rm --pids-limit 7 --memory 64m " .. IMAGE .. " cat /proc/self/cgroup")
    local pids = out:match("\n%d+:pids:(%S+)")
    local memory = out:match("\n%d+:memory:(%S+)")
    assert.truthy(pids and memory, out .. err)
    -- Read while it runs: run -d, then the files of its cgroups.
    local id = H.trim((podman("-d --name nsbox-spec-limits --pids-limit 7 --memory 64m " .. IMAGE .. " sleep 60")))
    local lines = H.sh(PODMAN .. " exec nsbox-spec-limits cat /proc/self/cgroup")
    local where = lines:match("\n%d+:pids:(%S+)")
    assert.equal("7\n", H.slurp("/sys/fs/cgroup/pids" .. where .. "/pids.max"))
    assert.equal(tostring(64 << 20) .. "\n",
      H.slurp("/sys/fs/cgroup/memory" .. lines:match("\n%d+:memory:(%S+)") .. "/memory.limit_in_bytes"))
    H.sh(PODMAN .. " rm -f -t 0 " .. id)
    assert.equal("", cgroup_dirs("*/libpod-" .. id))
  end)

  podman_it("runs -d, execs, pauses, kills (137) and removes", function()
    local _, err, code = podman("-d --name nsbox-spec-life " .. IMAGE .. " sleep 60")
    assert.equal(0, code, err)
    local out, _, exec_code = H.sh(PODMAN .. " exec nsbox-spec-life sh -c 'echo in; exit 4'")
    assert.equal("in\n", out)
    assert.equal(4, exec_code)
    assert.equal(0, select(3, H.sh(PODMAN .. " pause nsbox-spec-life")))
    assert.equal("paused\n", (H.sh(PODMAN .. " inspect -f '{{.State.Status}}' nsbox-spec-life")))
    assert.equal(0, select(3, H.sh(PODMAN .. " unpause nsbox-spec-life")))
    assert.equal(0, select(3, H.sh(PODMAN .. " kill nsbox-spec-life")))
    assert.equal("137\n", (H.sh(PODMAN .. " wait nsbox-spec-life")))
    assert.equal(0, select(3, H.sh(PODMAN .. " rm nsbox-spec-life")))
    assert.equal("", cgroup_dirs("*/libpod-*"))
  end)

  podman_it("stops a container whose command ends on SIGTERM", function()
    podman("-d --name nsbox-spec-stop " .. IMAGE .. " sh -c 'trap \"exit 9\" TERM; while :; do sleep 1; done'")
    local _, err, code = H.sh(PODMAN .. " stop -t 20 nsbox-spec-stop")
    assert.equal(0, code, err)
    assert.equal("9\n", (H.sh(PODMAN .. " inspect -f '{{.State.ExitCode}}' nsbox-spec-stop")))
    H.sh(PODMAN .. " rm nsbox-spec-stop")
  end)

  -- conmon can lose what a terminal's process wrote just before it exits (1 run in 40 here, with runc as
  -- the runtime too): each command pauses after writing.
  podman_it("runs -it and exec -it on a terminal", function()
    local out, _, code = H.sh("script -qec "
      .. H.quote(RUN .. "--rm -it " .. IMAGE .. " sh -c 'tty; sleep 0.2; exit 5'") .. " /dev/null </dev/null")
    assert.equal(5, code)
    assert.matches("/dev/pts/%d+", out)
    podman("-d --name nsbox-spec-tty " .. IMAGE .. " sleep 60")
    out, _, code = H.sh("script -qec " .. H.quote(PODMAN .. " exec -it nsbox-spec-tty sh -c 'tty; sleep 0.2; exit 6'")
      .. " /dev/null </dev/null")
    assert.equal(6, code)
    assert.matches("/dev/pts/%d+", out)
    H.sh(PODMAN .. " rm -f -t 0 nsbox-spec-tty")
  end)
end)
