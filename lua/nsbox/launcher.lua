-- nsbox.launcher: what the `nsbox` command (csrc/cmd/nsbox.c, built as
-- bin/nsbox) runs, embedded in it: find the modules, then hand the words to
-- nsbox.command. `nsbox --help` says how to use it.
--
-- Where the modules come from: the folder above the program's, when it is a
-- checkout (bin/nsbox beside lua/ and build/) or a luarocks tree (bin/nsbox
-- beside share/lua/5.4/ and lib/lua/5.4/) and nobody but root and the
-- caller can change what would be loaded from it. Modules load lazily all
-- the run long, so that covers every folder from / down to each file: any
-- of them renamed swaps the tree. Else no Lua source at all: the program's
-- precompiled copies run (csrc/modules.c), nsbox-init from beside the
-- nsbox.core on Lua's default C path (the core itself is linked into the
-- program). Never from LUA_PATH (the program ignores the environment), from a
-- directory merely next to a recipe, or from the current directory.
-- The precompiled copies run only where they are what those sources say.

local M = {}

-- Where the modules are, below the folder above the program's.
local LAYOUTS = {
  { name = "the checkout", lua = "lua", lib = "build", built_by_make = true },
  { name = "the modules installed in", lua = "share/lua/5.4", lib = "lib/lua/5.4" },
}

-- Whether a user other than root and the caller (uid) could change path: it
-- is someone else's, or a group (whose other members we cannot know, even
-- the caller's own) or everyone may write it. A folder above the tree may
-- be writable if it is sticky, as /tmp is: nobody else can rename what is
-- ours in it. Missing paths are not loaded.
local function changeable(host, uid, path, above)
  local owner, _, mode = host.stat(path)
  if not owner then return false end
  if owner ~= 0 and owner ~= uid then return true end
  return mode & 18 ~= 0 and not (above and mode & 512 ~= 0)
end

-- The folders above path, from / down.
local function folders_above(path)
  local list, prefix = { "/" }, ""
  for part in path:gmatch("[^/]+") do
    prefix = prefix .. "/" .. part
    list[#list + 1] = prefix
  end
  list[#list] = nil
  return list
end

-- Appends tree/rel and the folders between them to paths; returns tree/rel.
local function folders_down(tree, rel, paths)
  local at = tree
  for part in rel:gmatch("[^/]+") do
    at = at .. "/" .. part
    paths[#paths + 1] = at
  end
  return at
end

-- dir and its Lua files, sorted.
local function with_lua_files(host, dir, paths)
  paths[#paths + 1] = dir
  local files = host.lua_files(dir)
  table.sort(files)
  for _, file in ipairs(files) do paths[#paths + 1] = dir .. "/" .. file end
end

local function readable(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

-- What would be loaded from a tree of that layout: its folders, modules, stock recipes, core and init.
local function paths_in(host, tree, layout)
  local paths = { tree }
  local lua = folders_down(tree, layout.lua, paths)
  with_lua_files(host, lua .. "/nsbox", paths)
  with_lua_files(host, lua .. "/nsbox/recipes", paths)
  local lib = folders_down(tree, layout.lib, paths)
  table.move({ lib .. "/nsbox", lib .. "/nsbox/core.so", lib .. "/nsbox/nsbox-init" }, 1, 3, #paths + 1, paths)
  return paths
end

-- The first path others could change, of those the tree's modules depend on.
local function first_changeable(host, tree, layout)
  local uid = host.stat("/proc/self") -- owned by the caller's ids
  for _, path in ipairs(folders_above(tree)) do
    if changeable(host, uid, path, true) then return path end
  end
  for _, path in ipairs(paths_in(host, tree, layout)) do
    if changeable(host, uid, path, false) then return path end
  end
end

-- The modules around the program (self: its absolute path, links resolved)
-- as { lua = folder, lib = folder }, or nil to use the precompiled copies.
local function around(self, host)
  local tree = self:match("^(/.+)/[^/]+/[^/]+$")
  for _, layout in ipairs(tree and LAYOUTS or {}) do
    local lua, lib = tree .. "/" .. layout.lua, tree .. "/" .. layout.lib
    if readable(lua .. "/nsbox/init.lua") then
      local culprit = first_changeable(host, tree, layout)
      if culprit then
        io.stderr:write("nsbox: not using ", layout.name, " ", tree, ": other users can change ", culprit, "\n")
        return nil
      end
      if layout.built_by_make and not readable(lib .. "/nsbox/core.so") then
        io.stderr:write("nsbox: the checkout ", tree, " is not built yet: run make there\n")
        os.exit(125)
      end
      return { lua = lua, lib = lib }
    end
  end
end

-- Only absolute entries: a relative one (Lua's default ./?.lua) loads from wherever the caller stands.
local function absolute_only(path)
  local kept = {}
  for entry in path:gmatch("[^;]+") do
    if entry:sub(1, 1) == "/" then kept[#kept + 1] = entry end
  end
  return table.concat(kept, ";")
end

-- launcher.main(self, args, host): self is the program's own path, links
-- resolved, or nil when unknown; args is arg (args[1..n] the words after
-- the program's name); host has the program's stat and lua_files
-- (csrc/cmd/nsbox.c).
function M.main(self, args, host)
  local found = self and around(self, host)
  -- Only the trusted tree's Lua path: a source elsewhere (Lua's default
  -- path) would win over the precompiled copy unchecked.
  package.path = found and ("%s/?.lua;%s/?/init.lua"):format(found.lua, found.lua) or ""
  package.cpath = (found and found.lib .. "/?.so;" or "") .. absolute_only(package.cpath)
  -- nsbox.core is linked into this program; nsbox-init is installed beside the core.so it would load.
  local core_so = package.searchpath("nsbox.core", package.cpath)
  require("nsbox.core").init_program(core_so and (core_so:gsub("[^/]*$", "nsbox-init")) or false)
  local ok, command = pcall(require, "nsbox.command")
  if not ok then
    io.stderr:write("nsbox: nsbox's modules are not installed", found and "" or " (and no usable checkout)", ":\n",
      command, "\n")
    os.exit(125)
  end
  command.main(args)
end

return M
