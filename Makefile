# nsbox: build the nsbox.core module in place (build/nsbox/core.so) and the
# nsbox command (bin/nsbox) so specs and recipes run from the tree; `install`
# goes through luarocks.

LUA_VERSION ?= 5.4
LUA_INC     ?= /usr/include/lua$(LUA_VERSION)
CC          ?= cc
CFLAGS      ?= -O2 -g
WARNINGS    := -Wall -Wextra -Werror -pedantic -Wmissing-prototypes -Wstrict-prototypes \
               -Wshadow -Wpointer-arith -Wcast-align -Wwrite-strings
CAP_INC     ?= /usr/include
CAP_LIB     ?= /usr/lib
SECCOMP_INC ?= /usr/include
SECCOMP_LIB ?= /usr/lib
ALL_CFLAGS  := -std=c11 -fPIC $(WARNINGS) -I$(LUA_INC) -I$(CAP_INC) -I$(SECCOMP_INC) $(CFLAGS)
# libcap and libseccomp from their static archives where they are installed
# (Debian's -dev packages have them): each shared library costs its loading
# at every start (0.1 ms apiece here, of a whole `nsbox` command's 3), and
# their symbols stay ours (not exported to other modules). Rebuild nsbox
# after a security update of either; `make STATIC_DEPS=no` links the shared
# libraries, as the build does where an archive is missing.
static_archive = $(firstword $(wildcard $(1)/$(2)) $(filter /%,$(shell $(CC) -print-file-name=$(2))))
STATIC_DEPS ?= $(if $(and $(call static_archive,$(CAP_LIB),libcap.a),$(call static_archive,$(SECCOMP_LIB),libseccomp.a)),yes,no)
ifeq ($(STATIC_DEPS),yes)
LIBS        := -L$(CAP_LIB) -l:libcap.a -L$(SECCOMP_LIB) -l:libseccomp.a -Wl,--exclude-libs,libcap.a:libseccomp.a
else
LIBS        := -L$(CAP_LIB) -lcap -L$(SECCOMP_LIB) -lseccomp
endif
# The interpreter that precompiles the modules, and the library the command
# embeds: the same Lua version. Linked statically, the command relocates no
# shared Lua (and gets no readline); -Wl,-E exports its Lua API to the C
# modules it loads (cjson). nsbox.core is linked in too, not loaded.
LUA         ?= lua$(LUA_VERSION)
LUA_LIB     ?= -l:liblua$(LUA_VERSION).a

SRC := $(wildcard csrc/*.c)
HEADERS := csrc/nsbox.h csrc/plan.h csrc/modules.h csrc/core.h
# The Lua modules, precompiled by tools/embed.lua into one C file.
LUA_MODULES := $(wildcard lua/nsbox/*.lua)
EMBEDDED := build/obj/gen/modules.o
OBJ := $(patsubst csrc/%.c,build/obj/%.o,$(SRC)) $(EMBEDDED)
MODULE := build/nsbox/core.so
COMMAND := bin/nsbox
# Beside the module: exec'd by the sandbox, so static, to run inside any rootfs.
INIT := build/nsbox/nsbox-init
INIT_SRC := csrc/init/nsbox-init.c
# Without a C library where csrc/init/bare.h has the start-up code (it says why);
# not for x32, whose longs are 4 bytes.
ifneq ($(filter-out %x32,$(filter x86_64-% aarch64-%,$(shell $(CC) -dumpmachine))),)
INIT_FLAGS := -DNSBOX_INIT_BARE=1 -ffreestanding -fno-stack-protector -nostdlib
endif

.PHONY: all setup demo test check asan fuzz bench install rock-install clean doc lint pack

all: $(MODULE) $(INIT) $(COMMAND)

build/obj/%.o: csrc/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

build/gen/modules.c: tools/embed.lua $(LUA_MODULES)
	@mkdir -p $(dir $@)
	$(LUA) tools/embed.lua $@ $(LUA_MODULES)

$(EMBEDDED): build/gen/modules.c csrc/modules.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Icsrc -c $< -o $@

$(MODULE): $(OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@ $(OBJ) $(LIBS)

$(COMMAND): csrc/cmd/nsbox.c csrc/core.h $(OBJ)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(WARNINGS) -I$(LUA_INC) $(CFLAGS) -Wl,-E -o $@ csrc/cmd/nsbox.c $(OBJ) $(LUA_LIB) $(LIBS) -lm -ldl

$(INIT): $(INIT_SRC) csrc/init/bare.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(WARNINGS) $(CFLAGS) $(INIT_FLAGS) -static -o $@ $(INIT_SRC)

# luarocks' install step (the rockspec's install_target): into the rock's tree.
rock-install: all
	install -d $(INST_LUADIR)/nsbox $(INST_LIBDIR)/nsbox
	install -m 644 lua/nsbox/*.lua $(INST_LUADIR)/nsbox/
	install -d $(INST_LUADIR)/nsbox/recipes
	install -m 644 recipes/*.lua $(INST_LUADIR)/nsbox/recipes/
	install -m 755 $(MODULE) $(INIT) $(INST_LIBDIR)/nsbox/
# The rockspec's build.install.bin installs $(COMMAND).

# Packages, and `lua` running Lua 5.4 (see setup.sh).
setup:
	sh ./setup.sh

# setup.sh installs lua-cjson with apt, where luarocks does not look for it.
# The man page and bash completion go where man and bash look, from the rock.
PREFIX ?= /usr/local
install: setup
	luarocks --lua-version=$(LUA_VERSION) make --deps-mode=none nsbox-scm-1.rockspec
	rock=$$(luarocks --lua-version=$(LUA_VERSION) show --rock-dir nsbox) && \
		install -Dm644 "$$rock/doc/nsbox.1" $(PREFIX)/share/man/man1/nsbox.1 && \
		install -Dm644 "$$rock/completion/nsbox" $(PREFIX)/share/bash-completion/completions/nsbox

# The main job: install, then show a UTS namespace with the installed command.
demo: install
	cd / && nsbox uts sh -c 'echo "inside:  $$(hostname)"'
	@echo "outside: $$(hostname)"

# Every lua the specs start (recipe files run directly among them) loads this
# checkout's modules, as an installed tree's would be loaded.
test asan fuzz check bench: export LUA_PATH_5_4 := $(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;;
test asan fuzz check bench: export LUA_CPATH_5_4 := $(CURDIR)/build/?.so;;

# The last spec compares the host with this snapshot, and looks for processes
# the suite left under the subreaper it runs in.
test: setup all build/subreaper
	sh spec/support/host-state.sh > build/host-before.txt
	build/subreaper busted

build/subreaper: spec/support/subreaper.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(WARNINGS) $(CFLAGS) $< -o $@

check: all
	cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
		--suppress=missingIncludeSystem --suppress=toomanyconfigs --inline-suppr -I$(LUA_INC) csrc
	valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
		--child-silent-after-fork=yes --suppressions=spec/support/valgrind.supp \
		lua spec/valgrind_smoke.lua

# The module built with ASan and UBSan, for what valgrind cannot follow: the
# child that shares our memory (CLONE_VM) on the unprivileged path.
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_OBJ   := $(patsubst csrc/%.c,build-asan/obj/%.o,$(SRC)) build-asan/obj/gen/modules.o
ASAN_SPECS := spec/run_spec.lua spec/privileges_spec.lua spec/recipe_spec.lua spec/mounts_spec.lua \
              spec/rootfs_spec.lua spec/recipes_spec.lua spec/join_spec.lua spec/lsns_spec.lua \
              spec/streams_spec.lua spec/terminal_spec.lua spec/security_spec.lua

build-asan/obj/%.o: csrc/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -c $< -o $@

build-asan/obj/gen/modules.o: build/gen/modules.c csrc/modules.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -Icsrc -c $< -o $@

build-asan/nsbox/core.so: $(ASAN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared $(ASAN_FLAGS) -o $@ $(ASAN_OBJ) $(LIBS)

# nsbox.core finds nsbox-init beside itself.
build-asan/nsbox/nsbox-init: $(INIT)
	@mkdir -p $(dir $@)
	cp $(INIT) $@

asan: setup all build-asan/nsbox/core.so build-asan/nsbox/nsbox-init
	sh spec/support/asan.sh $(ASAN_SPECS)

# The long fuzzer run (spec/fuzz_spec.lua runs a short one); replay a failing
# case with the seed it prints. The case in progress is in build/fuzz-progress.txt.
FUZZ_CASES ?= 100000
FUZZ_SEED  ?= $(shell date +%s)
fuzz: all
	lua spec/support/fuzz.lua $(FUZZ_CASES) $(FUZZ_SEED) build/fuzz-progress.txt

bench: setup all
	sh bench/run.sh

# A binary rock in build/, built from a copy of the tracked files so the
# checkout gets no objects; luarocks install build/nsbox-*.rock installs it.
pack:
	rm -rf build/pack && mkdir -p build/pack
	git ls-files | tar cf - -T - | tar xf - -C build/pack
	cd build/pack && luarocks --lua-version=$(LUA_VERSION) make --pack-binary-rock --deps-mode=none nsbox-scm-1.rockspec
	mv build/pack/*.rock build/ && rm -rf build/pack

# luacheck (Debian's lua-check, from setup.sh), with .luacheckrc.
lint:
	luacheck --no-color -q lua spec bench doc recipes tools

# The man page and doc/command.md's flag table, from nsbox.flags.
doc: all
	lua doc/generate.lua

clean:
	rm -rf build build-asan $(COMMAND)
