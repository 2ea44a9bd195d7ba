# nsbox: build the nsbox.core module in place (build/nsbox/core.so) so specs
# and recipes run from the tree; `install` goes through luarocks.

LUA_VERSION ?= 5.4
LUA_INC     ?= /usr/include/lua$(LUA_VERSION)
CC          ?= cc
CFLAGS      ?= -O2 -g
WARNINGS    := -Wall -Wextra -Werror -pedantic -Wmissing-prototypes -Wstrict-prototypes \
               -Wshadow -Wpointer-arith -Wcast-align -Wwrite-strings
ALL_CFLAGS  := -std=c11 -fPIC $(WARNINGS) -I$(LUA_INC) $(CFLAGS)
LIBS        := -lcap

SRC := $(wildcard csrc/*.c)
OBJ := $(patsubst csrc/%.c,build/obj/%.o,$(SRC))
MODULE := build/nsbox/core.so

.PHONY: all setup demo test check bench install clean doc lint pack

all: $(MODULE)

build/obj/%.o: csrc/%.c csrc/nsbox.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(MODULE): $(OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@ $(OBJ) $(LIBS)

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

# The last spec compares the host with this snapshot.
test: setup all
	sh spec/support/host-state.sh > build/host-before.txt
	busted

check: all
	cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
		--suppress=missingIncludeSystem --suppress=toomanyconfigs --inline-suppr -I$(LUA_INC) csrc
	valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
		--child-silent-after-fork=yes --suppressions=spec/support/valgrind.supp \
		lua spec/valgrind_smoke.lua

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
	luacheck --no-color -q . bin/nsbox

# The man page and the README's flag table, from nsbox.flags.
doc: all
	lua doc/generate.lua

clean:
	rm -rf build
