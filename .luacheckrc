-- make lint: luacheck over the Lua sources, the launcher, the recipes, the specs and the bench.
std = "lua54"
max_line_length = 120
files["spec/"] = { std = "+busted" }
exclude_files = { "build/", "lua_modules/", ".luarocks/" }
-- Plan builders share one signature; not every one uses every argument.
unused_args = false
