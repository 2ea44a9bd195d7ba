-- nsbox.launcher: what the `nsbox` command (csrc/cmd/nsbox.c, built as
-- bin/nsbox) runs, embedded in it: find the modules, then hand the words to
-- nsbox.command. `nsbox --help` says how to use it.
--
-- Where the modules come from: the checkout the program is in (its parent
-- holding lua/nsbox/init.lua), when nobody but root and the caller can change
-- what would be loaded from it; else the installed modules. Never from a
-- directory merely next to a recipe, and never from the current directory.
-- The precompiled copies the program embeds run only where they are what
-- those sources say (csrc/modules.c).

local M = {}

-- The first path, of those Lua would load, that a user other than root
-- and the caller could change: its owner is someone else, or its group (not
-- the caller's) or everyone may write it. /proc/self is owned by the
-- caller's ids. Missing paths are not loaded.
local function changeable_by_others(host, paths)
  local uid, gid = host.stat("/proc/self")
  for _, path in ipairs(paths) do
    local owner, group, mode = host.stat(path)
    if owner then
      local foreign_owner = owner ~= 0 and owner ~= uid
      local foreign_group = mode & 16 ~= 0 and group ~= 0 and group ~= gid
      if foreign_owner or foreign_group or mode & 2 ~= 0 then return path end
    end
  end
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

-- The checkout around the program, or nil to use the installed modules.
local function checkout(tree, host)
  if not readable(tree .. "/lua/nsbox/init.lua") then return nil end
  local paths = { tree, tree .. "/lua" }
  with_lua_files(host, tree .. "/lua/nsbox", paths)
  with_lua_files(host, tree .. "/recipes", paths)
  table.move({ tree .. "/build", tree .. "/build/nsbox", tree .. "/build/nsbox/core.so" }, 1, 3, #paths + 1, paths)
  local culprit = changeable_by_others(host, paths)
  if culprit then
    io.stderr:write("nsbox: not using the checkout ", tree, ": other users can change ", culprit, "\n")
    return nil
  end
  if not readable(tree .. "/build/nsbox/core.so") then
    io.stderr:write("nsbox: the checkout ", tree, " is not built yet: run make there\n")
    os.exit(125)
  end
  return tree
end

-- Only absolute entries: a relative one (Lua's default ./?.lua) loads from wherever the caller stands.
local function absolute_only(path)
  local kept = {}
  for entry in path:gmatch("[^;]+") do
    if entry:sub(1, 1) == "/" then kept[#kept + 1] = entry end
  end
  return table.concat(kept, ";")
end

-- launcher.main(self, args, host): self is the program's own path; args is
-- arg (args[1..n] the words after the program's name); host has the
-- program's stat and lua_files (csrc/cmd/nsbox.c).
function M.main(self, args, host)
  local found = checkout((self:match("^(.*)/[^/]*$") or ".") .. "/..", host)
  package.path, package.cpath = absolute_only(package.path), absolute_only(package.cpath)
  if found then
    package.path = ("%s/lua/?.lua;%s/lua/?/init.lua;%s"):format(found, found, package.path)
    package.cpath = ("%s/build/?.so;%s"):format(found, package.cpath)
  end
  local ok, command = pcall(require, "nsbox.command")
  if not ok then
    io.stderr:write("nsbox: nsbox's modules are not installed", found and "" or " (and no usable checkout)", ":\n",
      command, "\n")
    os.exit(125)
  end
  command.main(args)
end

return M
