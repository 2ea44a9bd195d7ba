rockspec_format = "3.0"
package = "nsbox"
version = "scm-1"
source = {
   url = "git+file:///dev/null", -- built from the checkout: luarocks make
}
description = {
   summary = "Run processes in new Linux namespaces, described by Lua recipes",
   detailed = [[
A Lua 5.4 module with a C core: a recipe (a Lua table) is validated and
compiled into a plan before the fork, and a cloned child executes the plan
with raw syscalls before exec.]],
   license = "MIT",
}
supported_platforms = { "linux" }
dependencies = {
   "lua >= 5.4",
   "lua-cjson", -- nsbox.oci reads config.json, `nsbox lsns -J` writes JSON
}
external_dependencies = {
   CAP = { header = "sys/capability.h", library = "cap" },
}
build = {
   type = "builtin",
   modules = {
      nsbox = "lua/nsbox/init.lua",
      ["nsbox.recipe"] = "lua/nsbox/recipe.lua",
      ["nsbox.cli"] = "lua/nsbox/cli.lua",
      ["nsbox.oci"] = "lua/nsbox/oci.lua",
      ["nsbox.lsns"] = "lua/nsbox/lsns.lua",
      ["nsbox.check"] = "lua/nsbox/check.lua",
      ["nsbox.mounts"] = "lua/nsbox/mounts.lua",
      ["nsbox.privileges"] = "lua/nsbox/privileges.lua",
      ["nsbox.rootfs"] = "lua/nsbox/rootfs.lua",
      ["nsbox.namespaces"] = "lua/nsbox/namespaces.lua",
      ["nsbox.command"] = "lua/nsbox/command.lua",
      ["nsbox.flags"] = "lua/nsbox/flags.lua",
      ["nsbox.help"] = "lua/nsbox/help.lua",
      ["nsbox.subcommands"] = "lua/nsbox/subcommands.lua",
      -- The stock recipes, found next to nsbox.command (`nsbox --list`).
      ["nsbox.recipes.all"] = "recipes/all.lua",
      ["nsbox.recipes.cgroup"] = "recipes/cgroup.lua",
      ["nsbox.recipes.ipc"] = "recipes/ipc.lua",
      ["nsbox.recipes.locked"] = "recipes/locked.lua",
      ["nsbox.recipes.mount"] = "recipes/mount.lua",
      ["nsbox.recipes.net"] = "recipes/net.lua",
      ["nsbox.recipes.oci"] = "recipes/oci.lua",
      ["nsbox.recipes.pid"] = "recipes/pid.lua",
      ["nsbox.recipes.rootfs"] = "recipes/rootfs.lua",
      ["nsbox.recipes.time"] = "recipes/time.lua",
      ["nsbox.recipes.user"] = "recipes/user.lua",
      ["nsbox.recipes.uts"] = "recipes/uts.lua",
      ["nsbox.core"] = {
         sources = {
            "csrc/core.c", "csrc/plan.c", "csrc/spawn.c", "csrc/child.c",
            "csrc/ns.c", "csrc/mount.c", "csrc/net.c", "csrc/caps.c",
            "csrc/nsinfo.c", "csrc/rootfs.c",
         },
         libraries = { "cap" },
         incdirs = { "$(CAP_INCDIR)" },
         libdirs = { "$(CAP_LIBDIR)" },
      },
   },
   install = {
      bin = { nsbox = "bin/nsbox" },
   },
   -- Into the rock's directory (luarocks show --rock-dir nsbox): the man
   -- page doc/nsbox.1 and the bash completion completion/nsbox.
   copy_directories = { "doc", "completion" },
}
