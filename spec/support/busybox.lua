-- A throw-away rootfs holding only Debian's static busybox, for the rootfs,
-- mounts and OCI specs: world-readable so that uid 65534 can use it, with the
-- mount points an unprivileged user could not create in it.
local H = require "helpers"

local B = {}

B.APPLETS = { "sh", "ls", "cat", "id", "hostname", "readlink", "grep", "touch", "mkdir", "stat", "test", "sleep",
  "head", "wc", "sed", "awk", "tr" }

-- A new rootfs under /tmp, with these directories: a path.
function B.rootfs(dirs)
  local dir = H.trim((H.sh("mktemp -d /tmp/nsbox-rootfs.XXXXXX")))
  local words = {}
  for i, d in ipairs(dirs or { "bin", "dev", "etc", "proc", "sys", "tmp" }) do words[i] = H.quote(dir .. "/" .. d) end
  local _, err, code = H.sh(("mkdir -p %s && cp /bin/busybox %s/bin/"):format(table.concat(words, " "), H.quote(dir)))
  assert(code == 0, err)
  for _, name in ipairs(B.APPLETS) do
    assert(os.execute(("ln -s busybox %s/bin/%s"):format(H.quote(dir), name)))
  end
  assert(os.execute("chmod -R a+rX " .. H.quote(dir)))
  return dir
end

function B.remove(dir)
  assert(dir:match("^/tmp/nsbox%-"), "refusing to remove " .. dir)
  os.execute("rm -rf " .. H.quote(dir))
end

-- A directory the sandbox writes its output to, bound at /out.
local function out_dir()
  local dir = H.trim((H.sh("mktemp -d /tmp/nsbox-out.XXXXXX")))
  os.execute("chmod 777 " .. H.quote(dir))
  return dir
end

-- Run a shell script in rootfs with fragment's keys: what it printed, ok, how, code.
function B.run(rootfs, fragment, script)
  local nsbox = require "nsbox"
  local out = out_dir()
  local base = { namespaces = { "uts", "ipc", "pid", "mount", "net" }, rootfs = rootfs, env = { PATH = "/bin" },
    clearenv = true, mounts = { { type = "bind", source = out, target = "/out" } } }
  local ok, how, code = nsbox.run(nsbox.recipe(base, fragment or {}),
    { "/bin/sh", "-c", "exec >/out/log 2>&1; " .. script })
  local text = H.slurp(out .. "/log")
  B.remove(out)
  return text, ok, how, code
end

-- The lines of a mountinfo text as {point = options .. " " .. fstype .. " " .. super options}.
function B.mounts(mountinfo)
  local set = {}
  for line in mountinfo:gmatch("[^\n]+") do
    local point, opts, rest = line:match("^%S+ %S+ %S+ %S+ (%S+) (%S+).- %- (.*)$")
    if point then set[point] = opts .. " " .. rest end
  end
  return set
end

return B
