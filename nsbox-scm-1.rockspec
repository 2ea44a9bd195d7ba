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
   SECCOMP = { header = "seccomp.h", library = "seccomp" }, -- compiles the seccomp key's filters
}
-- The make backend: besides the core module, the build makes nsbox-init, a
-- static program installed beside it, which builtin cannot build.
build = {
   type = "make",
   build_target = "all",
   build_variables = {
      CFLAGS = "$(CFLAGS)",
      LUA_INC = "$(LUA_INCDIR)",
      CAP_INC = "$(CAP_INCDIR)",
      CAP_LIB = "$(CAP_LIBDIR)",
      SECCOMP_INC = "$(SECCOMP_INCDIR)",
      SECCOMP_LIB = "$(SECCOMP_LIBDIR)",
   },
   install_target = "rock-install",
   install_variables = {
      INST_LUADIR = "$(LUADIR)",
      INST_LIBDIR = "$(LIBDIR)",
   },
   install = {
      bin = { nsbox = "bin/nsbox" },
   },
   -- Into the rock's directory (luarocks show --rock-dir nsbox): the man
   -- page doc/nsbox.1 and the bash completion completion/nsbox.
   copy_directories = { "doc", "completion" },
}
