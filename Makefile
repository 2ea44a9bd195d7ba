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

.PHONY: all setup demo test check bench install clean

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

install: setup
	luarocks --lua-version=$(LUA_VERSION) make nsbox-scm-1.rockspec

# The main job: install, then show a UTS namespace from the installed module.
demo: install
	cd / && lua $(CURDIR)/recipes/uts.lua sh -c 'echo "inside:  $$(hostname)"'
	@echo "outside: $$(hostname)"

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

bench: setup all
	sh bench/run.sh

clean:
	rm -rf build
