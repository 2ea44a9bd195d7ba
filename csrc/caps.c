/*
 * Capabilities, with libcap: names are resolved and the sets built in the
 * parent; the child only applies them, through libcap calls that are thin
 * wrappers around capset(2) and prctl(2) and allocate nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include <lauxlib.h>

#include "nsbox.h"

#define NSBOX_CAPS_MT "nsbox.caps"

/* What a caps step carries: E, P and I as a libcap set, bounding and ambient as masks. */
struct caps_plan {
	cap_t sets;
	uint64_t bounding;
	uint64_t ambient;
	int last_cap;
};

/* core.cap_names() -> the capability names this kernel knows, "cap_chown" first. */
static int l_cap_names(lua_State *L)
{
	int n = (int)cap_max_bits();

	lua_createtable(L, n, 0);
	for (int i = 0; i < n; i++) {
		char *name = cap_to_name((cap_value_t)i);

		if (name == NULL)
			return luaL_error(L, "cap_to_name(%d): %s", i, strerror(errno));
		lua_pushstring(L, name);
		cap_free(name);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

/* A list of capability numbers at field key of the table at idx -> bit mask. */
uint64_t caps_read_mask(lua_State *L, int idx, const char *key)
{
	uint64_t mask = 0;

	if (lua_getfield(L, idx, key) != LUA_TTABLE)
		luaL_error(L, "caps step: '%s' must be a list of capability numbers", key);
	for (lua_Integer i = 1; lua_geti(L, -1, i) != LUA_TNIL; i++) {
		lua_Integer cap = lua_tointeger(L, -1);

		if (cap < 0 || cap > 63)
			luaL_error(L, "caps step: capability number %d out of range", (int)cap);
		mask |= UINT64_C(1) << cap;
		lua_pop(L, 1);
	}
	lua_pop(L, 2);
	return mask;
}

static void add_flag(cap_t sets, cap_flag_t flag, uint64_t mask, int last_cap)
{
	for (int i = 0; i <= last_cap; i++) {
		cap_value_t cap = i;

		if (mask & (UINT64_C(1) << i))
			cap_set_flag(sets, flag, 1, &cap, CAP_SET);
	}
}

static int caps_gc(lua_State *L)
{
	struct caps_plan *caps = luaL_checkudata(L, 1, NSBOX_CAPS_MT);

	if (caps->sets) {
		cap_free(caps->sets);
		caps->sets = NULL;
	}
	return 0;
}

/*
 * The caps step at idx -> a caps plan owned by a userdata left on the stack
 * (the caller anchors it with the plan).
 */
const struct caps_plan *caps_read_step(lua_State *L, int idx)
{
	struct caps_plan *caps = lua_newuserdatauv(L, sizeof(*caps), 0);

	memset(caps, 0, sizeof(*caps));
	if (luaL_newmetatable(L, NSBOX_CAPS_MT)) {
		lua_pushcfunction(L, caps_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	caps->last_cap = (int)cap_max_bits() - 1;
	caps->bounding = caps_read_mask(L, idx, "bounding");
	caps->ambient = caps_read_mask(L, idx, "ambient");
	caps->sets = cap_init();
	if (caps->sets == NULL)
		luaL_error(L, "cap_init: %s", strerror(errno));
	add_flag(caps->sets, CAP_EFFECTIVE, caps_read_mask(L, idx, "effective"), caps->last_cap);
	add_flag(caps->sets, CAP_PERMITTED, caps_read_mask(L, idx, "permitted"), caps->last_cap);
	add_flag(caps->sets, CAP_INHERITABLE, caps_read_mask(L, idx, "inheritable"), caps->last_cap);
	return caps;
}

void caps_open(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"cap_names", l_cap_names},
		{NULL, NULL},
	};

	luaL_setfuncs(L, fns, 0);
}

/* ---- child side ---- */

/* Shrink the bounding set; needs CAP_SETPCAP, so it runs before any switch of user. */
int caps_drop_bounding(const struct caps_plan *caps)
{
	for (int i = 0; i <= caps->last_cap; i++)
		if (!(caps->bounding & (UINT64_C(1) << i)) && cap_drop_bound((cap_value_t)i) < 0)
			return -1;
	return 0;
}

/*
 * Take the capabilities in mask out of the bounding, effective, permitted
 * and inheritable sets (the ambient set follows), leaving the others as they
 * are. Raw capget/capset: libcap's reading of the sets allocates.
 */
int caps_drop(uint64_t mask)
{
	struct __user_cap_header_struct head = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];

	for (int i = 0; i < 64; i++)
		if ((mask & (UINT64_C(1) << i)) && prctl(PR_CAPBSET_READ, (long)i, 0L, 0L, 0L) > 0 &&
		    prctl(PR_CAPBSET_DROP, (long)i, 0L, 0L, 0L) < 0)
			return -1;
	if (capget(&head, data) < 0)
		return -1;
	for (int k = 0; k < 2; k++) {
		uint32_t keep = ~(uint32_t)(mask >> (32 * k));

		data[k].effective &= keep;
		data[k].permitted &= keep;
		data[k].inheritable &= keep;
	}
	return capset(&head, data);
}

/* E, P and I exactly as planned, then the ambient set that carries them across exec. */
int caps_apply(const struct caps_plan *caps)
{
	if (cap_reset_ambient() < 0 && errno != EINVAL)
		return -1;
	if (cap_set_proc(caps->sets) < 0)
		return -1;
	for (int i = 0; i <= caps->last_cap; i++)
		if ((caps->ambient & (UINT64_C(1) << i)) && cap_set_ambient((cap_value_t)i, CAP_SET) < 0)
			return -1;
	return 0;
}
