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
      ["nsbox.core"] = {
         sources = {
            "csrc/core.c", "csrc/plan.c", "csrc/spawn.c", "csrc/child.c",
            "csrc/ns.c", "csrc/mount.c", "csrc/net.c", "csrc/caps.c",
            "csrc/nsinfo.c", "csrc/rootfs.c",
         },
         libraries = { "cap" },
         incdirs = { "$(CAP_INCDIR)" },
         libdirs = { "$(CAP_LIBDIR)" },
         defines = { "_GNU_SOURCE" },
      },
   },
}
