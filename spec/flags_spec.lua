-- nsbox's flags, one line each: the flags, a shell command run inside, what
-- it prints. Bubblewrap style (no recipe) starts from the host's tree bound
-- read-only, as the common bwrap command lines do; a row with a recipe
-- merges the flags into it. Then a bwrap command line run unchanged but for
-- the program name, side by side with bwrap, and the refusals.
local H = require "helpers"
local flags = require "nsbox.flags"

local ROOT = { "--ro-bind", "/", "/" }
local NS = "readlink /proc/self/ns/"

-- {flags, command inside, expected output (a string, or a pattern after ~)}; $D is a directory
-- holding a file f ("in D"), $ROOTFS a busybox root, $PID a sandbox with hostname "target".
local ROWS = {
  ["--unshare-user"] = { { "--unshare-user" }, "id -u; " .. NS .. "user", "~^0\nuser:%[%d+%]\n$" },
  ["--unshare-ipc"] = { { "--unshare-ipc" }, "ipcs -q | grep -c '^0x' || true", "0\n" },
  ["--unshare-pid"] = { { "--unshare-pid", "--proc", "/proc" }, "echo $$; cat /proc/1/comm", "2\nnsbox-init\n" },
  ["--unshare-net"] = { { "--unshare-net" }, "ip -o link | wc -l", "1\n" },
  ["--unshare-uts"] = { { "--unshare-uts" }, "hostname", "~.+\n" },
  ["--unshare-cgroup"] = { { "--unshare-cgroup" }, "grep -cv ':/$' /proc/self/cgroup || true", "0\n" },
  ["--unshare-time"] = { { "--unshare-time" }, NS .. "time", "~^time:%[%d+%]\n$" },
  ["--unshare-mount"] = { { "uts", "--unshare-mount" }, "grep -c ' / / ' /proc/self/mountinfo", "1\n" },
  ["--unshare-all"] = { { "--unshare-all", "--proc", "/proc" }, "echo $$; ip -o link | wc -l", "2\n1\n" },
  ["--share-net"] = { { "--unshare-all", "--share-net" }, "ip -o link | wc -l | sed 's/^1$/only lo/'", "~^%d+\n$" },
  ["--hostname"] = { { "--unshare-uts", "--hostname", "web" }, "hostname", "web\n" },
  ["--domainname"] = { { "--unshare-uts", "--domainname", "dom" }, "domainname", "dom\n" },
  ["--bind"] = { { "--bind", "$D", "/mnt" }, "cat /mnt/f; touch /mnt/new && echo written", "in D\nwritten\n" },
  ["--bind-try"] = { { "--bind-try", "/nonexistent", "/mnt", "--bind-try", "$D", "/opt" }, "cat /opt/f", "in D\n" },
  ["--ro-bind"] = { { "--ro-bind", "$D", "/mnt" }, "cat /mnt/f; touch /mnt/g 2>/dev/null || echo refused",
    "in D\nrefused\n" },
  ["--ro-bind-try"] = { { "--ro-bind-try", "/nonexistent", "/mnt" }, "echo ok", "ok\n" },
  ["--dev-bind"] = { { "--dev-bind", "/dev", "/dev" }, "head -c 3 /dev/zero | wc -c", "3\n" },
  ["--dev-bind-try"] = { { "--dev-bind-try", "/nonexistent", "/mnt" }, "echo ok", "ok\n" },
  ["--tmpfs"] = { { "--tmpfs", "/mnt" }, "stat -f -c %T /mnt; stat -c %a /mnt", "tmpfs\n755\n" },
  ["--size"] = { { "--size", "1048576", "--tmpfs", "/mnt" }, "df -k --output=size /mnt | tail -1", "~^ *1024\n$" },
  ["--perms"] = { { "--perms", "0700", "--tmpfs", "/mnt" }, "stat -c %a /mnt", "700\n" },
  ["--proc"] = { { "--unshare-pid", "--proc", "/proc" }, "stat -f -c %T /proc; cat /proc/1/comm",
    "proc\nnsbox-init\n" },
  ["--dev"] = { { "--dev", "/dev" }, "ls /dev | tr '\\n' ' '",
    "fd full null ptmx pts random shm stderr stdin stdout urandom zero " },
  ["--mqueue"] = { { "--unshare-ipc", "--dev", "/dev", "--mqueue", "/dev/mqueue" }, "stat -f -c %T /dev/mqueue",
    "mqueue\n" },
  ["--symlink"] = { { "--tmpfs", "/mnt", "--symlink", "/etc/hostname", "/mnt/h" }, "readlink /mnt/h",
    "/etc/hostname\n" },
  ["--dir"] = { { "--tmpfs", "/mnt", "--perms", "0710", "--dir", "/mnt/d" }, "stat -c %a /mnt/d", "710\n" },
  ["--remount-ro"] = { { "--bind", "$D", "/mnt", "--remount-ro", "/mnt" },
    "touch /mnt/g 2>/dev/null || echo refused", "refused\n" },
  ["--rootfs"] = { { "--rootfs", "$ROOTFS" }, "ls /", "bin\ndev\netc\nproc\nsys\ntmp\n", noroot = true },
  ["--chdir"] = { { "--chdir", "/etc" }, "pwd", "/etc\n" },
  ["--setenv"] = { { "--setenv", "NSBOX_A", "b c" }, "echo \"$NSBOX_A\"", "b c\n" },
  ["--unsetenv"] = { { "--unsetenv", "HOME" }, "echo ${HOME-unset}", "unset\n" },
  ["--clearenv"] = { { "--clearenv", "--setenv", "A", "1" }, "env", "~^A=1\nPWD=/\n" },
  ["--argv0"] = { { "--argv0", "renamed" }, "echo $0", "renamed\n" },
  ["--uid"] = { { "--unshare-user", "--uid", "5" }, "id -u", "5\n" },
  ["--gid"] = { { "--unshare-user", "--gid", "6" }, "id -g", "6\n" },
  ["--uid-map"] = { { "--unshare-user", "--uid-map", "0:0:10" }, "cat /proc/self/uid_map", "~^ +0 +0 +10\n$" },
  ["--gid-map"] = { { "--unshare-user", "--gid-map", "0:0:10" }, "cat /proc/self/gid_map", "~^ +0 +0 +10\n$" },
  ["--cap-add"] = { { "--cap-add", "CAP_NET_ADMIN" }, "grep CapEff /proc/self/status", "CapEff:\t0000000000001000\n" },
  ["--cap-drop"] = { { "uts", "--cap-drop", "ALL" }, "grep CapEff /proc/self/status", "CapEff:\t0000000000000000\n" },
  ["--no-new-privs"] = { { "uts", "--no-new-privs" }, "grep NoNewPrivs /proc/self/status", "NoNewPrivs:\t1\n" },
  ["--rlimit"] = { { "--rlimit", "nofile=100:200" }, "ulimit -n; ulimit -Hn", "100\n200\n" },
  ["--init"] = { { "pid", "--init" }, "echo $$", "2\n" },
  ["--as-pid-1"] = { { "--unshare-pid", "--as-pid-1" }, "echo $$", "1\n" },
  ["--seccomp"] = { { "--seccomp", "default" }, "grep ^Seccomp: /proc/self/status", "Seccomp:\t2\n" },
  ["--die-with-parent"] = { { "--die-with-parent", "--debug" }, "true", "" , stderr = "die with the parent" },
  ["--info-fd"] = { { "--unshare-uts", "--info-fd", "1" }, "true",
    '~^{\n    "child%-pid": %d+,\n    "mnt%-namespace": %d+,\n    "uts%-namespace": %d+\n}\n$' },
  ["--json-status-fd"] = { { "--unshare-uts", "--json-status-fd", "2" }, "true", "",
    stderr = '^{ "child%-pid": %d+, "mnt%-namespace": %d+, "uts%-namespace": %d+ }\n{ "exit%-code": 0 }\n$' },
  ["--tty"] = { { "--dev", "/dev", "--tty" }, "tty", "~^/dev/pts/0\r?\n$" },
  ["--new-session"] = { { "--new-session", "--unshare-pid", "--as-pid-1", "--proc", "/proc" }, "ps -o sid= -p 1",
    "~^ *1\n$" },
  ["--join"] = { { "--join", "$PID" }, "hostname", "target\n" },
  ["--debug"] = { { "--unshare-uts", "--debug" }, "true", "", stderr = "step %d+: make / private" },
}

local function expand(words, vars)
  local out = {}
  for i, w in ipairs(words) do out[i] = (w:gsub("%$(%u+)", vars)) end
  return out
end

-- A recipe row starts with the recipe's name; the others are bubblewrap style from the host's tree.
local function command_line(row, vars)
  local words = expand(row[1], vars)
  if not words[1]:match("^%-") or row.noroot or words[1] == "--join" then return words end
  return table.move(words, 1, #words, #ROOT + 1, table.move(ROOT, 1, #ROOT, 1, {}))
end

describe("nsbox's flags", function()
  it("has a spec row for every flag that runs something", function()
    for _, flag in ipairs(flags.FLAGS) do
      if not flag.action then assert.truthy(ROWS[flag.name], flag.name) end
    end
  end)

  H.root_it("each do what they say (as root)", function()
    local B = require "support.busybox"
    local dir = H.trim(H.sh("mktemp -d"))
    local rootfs = B.rootfs()
    local target = assert(require("nsbox").spawn({ namespaces = { "uts" }, hostname = "target" }, { "sleep", "60" }))
    finally(function()
      H.sh("rm -rf " .. dir)
      B.remove(rootfs)
      target:kill("KILL")
      target:wait()
    end)
    H.sh("echo 'in D' > " .. dir .. "/f; chmod -R a+rwX " .. dir)
    local vars = { D = dir, ROOTFS = rootfs, PID = tostring(target.pid) }
    for _, flag in ipairs(flags.FLAGS) do
      local row = ROWS[flag.name]
      if row then
        local args = command_line(row, vars)
        args[#args + 1] = "sh"
        args[#args + 1] = "-c"
        args[#args + 1] = row[2]
        local out, err, code = H.nsbox(args)
        local what = table.concat(args, " ")
        assert.equal(0, code, what .. ": " .. err)
        if row[3]:sub(1, 1) == "~" then
          assert.matches(row[3]:sub(2), out, 1, false, what)
        else
          assert.equal(row[3], out, what)
        end
        if row.stderr then assert.matches(row.stderr, err, 1, false, what) end
      end
    end
  end)
end)

-- What `CMD` shows of the sandbox: its hostname, its root's entries, its ids, its exit status.
local SHOW = { "sh", "-c", "hostname; ls /; id; exit 7" }

local BWRAP_LINES = {
  { "--unshare-all", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--hostname", "web" },
  { "--unshare-user", "--unshare-uts", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
    "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev",
    "--tmpfs", "/tmp", "--dir", "/var/data", "--uid", "1000", "--gid", "1000", "--hostname", "box" },
}

describe("a bwrap command line", function()
  local has_bwrap = select(3, H.sh("command -v bwrap")) == 0
  for i, line in ipairs(BWRAP_LINES) do
    for _, nobody in ipairs { false, true } do
      local name = ("#%d runs the same under nsbox as under bwrap, as %s"):format(i, nobody and "nobody" or "root")
      if not has_bwrap then
        pending(name .. " (skipped: bwrap is not installed; setup.sh installs it)")
      else
        H.root_it(name, function()
          local args = table.move(SHOW, 1, #SHOW, #line + 1, table.move(line, 1, #line, 1, {}))
          local prefix = nobody and H.NOBODY or ""
          local words = {}
          for j, a in ipairs(args) do words[j] = H.quote(a) end
          local theirs = { H.sh(prefix .. "bwrap " .. table.concat(words, " ")) }
          local ours = { H.nsbox(args, { nobody = nobody }) }
          assert.equal(7, theirs[3], theirs[2])
          assert.same(theirs, ours)
        end)
      end
    end
  end
end)

describe("a bad flag", function()
  local REFUSALS = {
    { { "--bogus" }, "nsbox: unknown option '--bogus' (nsbox --help lists them)" },
    { { "--hostnme", "x" },
      "nsbox: unknown option '--hostnme' (did you mean '--hostname'?) (nsbox --help lists them)" },
    { { "--bind" }, "nsbox: --bind takes SRC DEST" },
    { { "--size", "big", "--tmpfs", "/t" }, "nsbox: --size: expected a number, got 'big'" },
    { { "--perms", "rwx", "--tmpfs", "/t" }, "nsbox: --perms: expected an octal mode like 0755, got 'rwx'" },
    { { "--tmpfs", "/t", "--size", "1" }, "nsbox: --size and --perms apply to a --tmpfs or --dir after them" },
    { { "--rlimit", "nofile" }, "nsbox: --rlimit: expected NAME=SOFT[:HARD], got 'nofile'" },
    { { "--uid-map", "1:2" }, "nsbox: --uid-map: expected INSIDE:OUTSIDE:COUNT, got '1:2'" },
    { { "--join", "me" }, "nsbox: --join: expected a number, got 'me'" },
    { { "--hostname", "x" }, "nsbox: nsbox.recipe: 'hostname' needs the 'uts' namespace (add \"uts\" to namespaces)" },
    { { "uts", "--list" }, "nsbox: '--list' comes before a recipe or command, not after" },
    { { "--version", "x" }, "nsbox: --version takes no arguments" },
  }
  for _, refusal in ipairs(REFUSALS) do
    it("is refused with one line naming it, before anything runs: " .. table.concat(refusal[1], " "), function()
      local args = { table.unpack(refusal[1]) }
      if args[1] ~= "uts" and args[1] ~= "--version" then table.insert(args, 1, "--debug") end
      args[#args + 1] = "true"
      assert.same({ "", refusal[2] .. "\n", 125 }, { H.nsbox(args) })
    end)
  end
end)

describe("the flags' documentation", function()
  it("--help, the man page and doc/command.md's table come from the one table (make doc is up to date)", function()
    local help = require "nsbox.help"
    assert.equal(help.man(), H.slurp("doc/nsbox.1"))
    local page = H.slurp("doc/command.md")
    assert.truthy(page:find("<!-- flags: generated by make doc -->\n" .. help.markdown() .. "<!-- end of flags -->",
      1, true), "doc/command.md's flag table is stale: run make doc")
  end)

  it("nsbox help KEY shows the flags of a flag name or a recipe key", function()
    assert.same({ "--hostname NAME\n    the hostname inside (needs --unshare-uts); recipe key: hostname\n", "", 0 },
      { H.nsbox { "help", "hostname" } })
    assert.same({ select(1, H.nsbox { "help", "hostname" }), "", 0 }, { H.nsbox { "help", "--hostname" } })
    local out = H.nsbox { "help", "caps" }
    assert.matches("^%-%-cap%-add CAP\n.*\n%-%-cap%-drop CAP\n", out)
    assert.same({ "", "nsbox: no flag or recipe key 'nope' (nsbox --help lists them)\n", 125 },
      { H.nsbox { "help", "nope" } })
  end)

  H.root_it("write --info-fd and --json-status-fd as bwrap does: the same keys and exit code", function()
    local dir = H.temp_dir()
    local function keys(text)
      local out = {}
      for key in text:gmatch('"([%w-]+)":') do out[#out + 1] = key end
      return table.concat(out, " ")
    end
    local results = {}
    for _, program in ipairs { "bwrap", "bin/nsbox" } do
      local _, _, code = H.sh(("%s --unshare-pid --unshare-uts --ro-bind / / --info-fd 3 --json-status-fd 4 "
        .. "sh -c 'exit 3' 3>%s/info 4>%s/status"):format(program, dir, dir))
      local status = H.slurp(dir .. "/status")
      results[program] = { code, keys(H.slurp(dir .. "/info")), keys(status), status:match("\n(.*)$") }
    end
    assert.same(results.bwrap, results["bin/nsbox"])
    assert.same({ 3, "child-pid mnt-namespace pid-namespace uts-namespace" }, { results.bwrap[1], results.bwrap[2] })
  end)
end)
