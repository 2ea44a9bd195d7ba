-- The rock as luarocks installs it: `luarocks make` of the tracked files
-- into a throw-away tree, then nsbox used from another directory with that
-- tree's paths only, as a user who installed it would.
local H = require "helpers"

describe("the installed rock", function()
  local work, tree, env

  lazy_setup(function()
    work = H.trim(H.sh("mktemp -d"))
    tree = work .. "/tree"
    local _, err, code = H.sh(("git ls-files | tar cf - -T - | tar xf - -C %s && cd %s && "
      .. "luarocks --lua-version=5.4 --tree %s make --deps-mode=none nsbox-scm-1.rockspec >/dev/null")
      :format(work, work, tree))
    assert(code == 0, err)
    H.sh("chmod -R a+rX " .. H.quote(work)) -- nobody uses it too
    env = ("cd / && eval \"$(luarocks --lua-version=5.4 --tree %s path)\" && "):format(tree)
  end)

  lazy_teardown(function()
    H.sh("rm -rf " .. H.quote(work))
  end)

  it("puts the nsbox command in the tree's bin as the built program, not a Lua script", function()
    assert.equal("\127ELF", H.slurp(tree .. "/bin/nsbox"):sub(1, 4))
    assert.same({ "nsbox version scm-1\nspec: 1.0.2\n", "", 0 }, { H.sh(env .. tree .. "/bin/nsbox --version") })
  end)

  H.root_it("puts nsbox in the tree's bin, which runs stock recipes from any directory", function()
    assert.same({ "nsbox\n", "", 0 }, { H.sh(env .. tree .. "/bin/nsbox uts hostname") })
    assert.same({ "0\n", "", 0 }, { H.sh(env .. H.NOBODY .. tree .. "/bin/nsbox user id -u") })
  end)

  it("lists the stock recipes, loads them by name and has every module, nsbox.oci's cjson included", function()
    local out, err, code = H.sh(env .. tree .. "/bin/nsbox --list")
    assert.same({ "", 0 }, { err, code })
    assert.same(select(1, H.nsbox { "--list" }), out)
    assert.same({ "nsbox\n", "", 0 }, { H.sh(env .. "lua -e 'require \"nsbox.oci\"; "
      .. "print((require \"nsbox\".load \"uts\").hostname)'") })
  end)

  it("installs the man page and the bash completion with the rock", function()
    local rock = H.trim(H.sh(("luarocks --lua-version=5.4 --tree %s show --rock-dir nsbox"):format(tree)))
    assert.equal(H.slurp("doc/nsbox.1"), H.slurp(rock .. "/doc/nsbox.1"))
    assert.equal(H.slurp("completion/nsbox"), H.slurp(rock .. "/completion/nsbox"))
    local out, err, code = H.sh("bash -c " .. H.quote(env .. ". " .. rock .. "/completion/nsbox && "
      .. "PATH=" .. tree .. "/bin:$PATH && COMP_WORDS=(nsbox --hostn) COMP_CWORD=1 && _nsbox && echo ${COMPREPLY[@]}"))
    assert.same({ "--hostname\n", "", 0 }, { out, err, code })
  end)
end)
