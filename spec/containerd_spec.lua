-- containerd (1.6, its runc shim) driving nsbox as its runc, on a busybox image built by hand as an OCI image
-- layout: no registry, no CNI (ctr run without --net-host gives an empty network namespace). The daemon is
-- private: its root, state, opt dir and sockets in a temp dir, in a mount namespace of its own with a tmpfs on
-- /run (the shim's sockets are at /run/containerd/s whatever the config says), so its snapshot mounts and
-- sockets go with it; ctr's fifos go to --fifo-dir. The spec checks the host has none of it afterwards.
local H = require "helpers"
local B = require "support.busybox"

local IMAGE = "docker.io/library/nsbox-spec-busybox:test"
local ID = "nsbox-spec-ctr-" .. H.trim((H.sh("echo $$")))
local have_containerd = H.root and os.execute("command -v containerd >/dev/null && command -v ctr >/dev/null "
  .. "&& command -v containerd-shim-runc-v2 >/dev/null")

local function containerd_it(name, fn)
  if have_containerd then return H.root_it(name, fn) end
  pending(name .. (H.root and " (skipped: containerd is not installed)" or " (skipped: needs root)"))
end

local function sha256(path)
  return (H.sh("sha256sum " .. H.quote(path)):match("^(%x+)"))
end

local function size(path)
  return tonumber((H.sh("stat -c %s " .. H.quote(path))))
end

-- A blob under layout/blobs/sha256 from a file: its descriptor's digest and size.
local function blob(layout, path)
  local digest, bytes = sha256(path), size(path)
  assert(os.rename(path, layout .. "/blobs/sha256/" .. digest))
  return "sha256:" .. digest, bytes
end

-- dir/image.tar: an OCI image layout holding one busybox layer, named IMAGE.
local function image(dir)
  local rootfs = B.rootfs { "bin", "etc", "tmp", "proc", "sys", "dev" }
  for _, applet in ipairs { "echo", "ip" } do
    assert(os.execute(("ln -s busybox %s/bin/%s"):format(H.quote(rootfs), applet)))
  end
  local layout = dir .. "/layout"
  assert(os.execute(("mkdir -p %s/blobs/sha256 && tar -C %s -cf %s/layer.tar ."):format(
    H.quote(layout), H.quote(rootfs), H.quote(dir))))
  B.remove(rootfs)
  local diff_id = sha256(dir .. "/layer.tar")
  assert(os.execute("gzip -n " .. H.quote(dir .. "/layer.tar")))
  local layer, layer_size = blob(layout, dir .. "/layer.tar.gz")
  H.write(dir .. "/config", ('{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["sh"]},'
    .. '"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}'):format(diff_id))
  local config, config_size = blob(layout, dir .. "/config")
  H.write(dir .. "/manifest", ('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
    .. '"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},'
    .. '"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}]}'):format(
    config, config_size, layer, layer_size))
  local manifest, manifest_size = blob(layout, dir .. "/manifest")
  H.write(layout .. "/index.json", ('{"schemaVersion":2,"manifests":[{"mediaType":'
    .. '"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%d,"annotations":'
    .. '{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"test"}}]}'):format(
    manifest, manifest_size, IMAGE))
  H.write(layout .. "/oci-layout", '{"imageLayoutVersion":"1.0.0"}')
  assert(os.execute(("tar -C %s -cf %s/image.tar ."):format(H.quote(layout), H.quote(dir))))
end

local function config(dir)
  H.write(dir .. "/config.toml", ([[
version = 2
root = "DIR/root"
state = "DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "DIR/containerd.sock"
[ttrpc]
  address = "DIR/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "DIR/opt"
]]):gsub("DIR", dir))
end

describe("#root #slow containerd with nsbox as its runc", function()
  local dir, daemon, ctr
  setup(function()
    if not have_containerd then return end
    dir = H.trim((H.sh("mktemp -d /tmp/nsbox-containerd.XXXXXX")))
    image(dir)
    config(dir)
    -- A simple command put in the background: $! is the daemon itself (unshare and sh exec into it).
    daemon = H.trim((H.sh(("unshare --mount --propagation private sh -c 'mount -t tmpfs tmpfs /run && exec "
      .. "containerd --config %s/config.toml' >%s/daemon.log 2>&1 </dev/null & echo $!"):format(dir, dir))))
    ctr = "ctr -a " .. H.quote(dir .. "/containerd.sock") .. " "
    assert(os.execute(("for i in $(seq 100); do [ -S %s/containerd.sock ] && exit 0; sleep 0.1; done; exit 1")
      :format(H.quote(dir))), "containerd did not start: " .. H.slurp(dir .. "/daemon.log"))
    local _, err, code = H.sh(ctr .. "image import " .. H.quote(dir .. "/image.tar"))
    assert(code == 0, err)
  end)
  teardown(function()
    if not have_containerd then return end
    os.execute("kill -TERM " .. daemon)
    os.execute(("while [ -e /proc/%s ]; do sleep 0.1; done"):format(daemon))
    H.sh("rm -rf " .. H.quote(dir))
  end)

  containerd_it("runs a container and passes its exit status through, leaving the host as it was", function()
    local nsbox = H.trim((H.sh("pwd"))) .. "/bin/nsbox"
    local out, err, code = H.sh(ctr .. ("run --rm --fifo-dir %s/fifo --runc-binary %s %s %s sh -c "
      .. "'echo hello; ip -o link | wc -l; exit 7'"):format(H.quote(dir), H.quote(nsbox), IMAGE, ID))
    assert.equal(7, code, err)
    assert.equal("hello\n1\n", out)
    assert.equal("", H.sh(ctr .. "task ls -q"))
    assert.equal("", H.sh(ctr .. "container ls -q"))
    assert.equal("", (H.sh("find /sys/fs/cgroup -name " .. H.quote("*" .. ID .. "*"))))
    assert.equal("", (H.sh("grep -F " .. H.quote(dir) .. " /proc/self/mountinfo")))
    assert.equal("", (H.sh("[ ! -e /run/containerd ] || echo /run/containerd")))
    assert.equal("", (H.sh("pgrep -f " .. H.quote("[c]ontainerd-shim-runc-v2.*" .. ID))))
  end)
end)
