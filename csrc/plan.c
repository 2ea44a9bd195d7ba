/*
 * Plans: the Lua plan table compiled by nsbox.recipe -> one C struct in a
 * userdata. Strings are not copied: each is anchored in the userdata's own
 * table, so they live as long as the plan whatever happens to the Lua table.
 */
#include <string.h>

#include <lauxlib.h>

#include "nsbox.h"

/* Indexed by enum step_op. */
const char *const step_op_names[] = {
	"hostname", "domainname", "mount", "bind", "loopback", "chdir", "rlimit", "drop_bounding",
	"identity", "caps", "no_new_privs", "die_with_parent", "umask", "join", "unshare",
	"time_offsets", "fork", "mkdir", "write_file", "symlink", "mask", "sysctl", "pivot_root",
	"chroot", "remount_ro", "drop_caps", "seccomp", NULL,
};

/* setrlimit(2)'s resources by the names recipes use. */
static const char *const rlimit_names[] = {
	"as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
	"nproc", "rss", "rtprio", "rttime", "sigpending", "stack", NULL,
};

static const int rlimit_values[] = {
	RLIMIT_AS, RLIMIT_CORE, RLIMIT_CPU, RLIMIT_DATA, RLIMIT_FSIZE, RLIMIT_LOCKS, RLIMIT_MEMLOCK,
	RLIMIT_MSGQUEUE, RLIMIT_NICE, RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_RSS, RLIMIT_RTPRIO,
	RLIMIT_RTTIME, RLIMIT_SIGPENDING, RLIMIT_STACK,
};

/* Anchor the string on top of the stack in the plan's table (at anchors) and pop it. */
static const char *anchor(lua_State *L, int anchors)
{
	const char *s = lua_tostring(L, -1);

	lua_rawseti(L, anchors, (lua_Integer)lua_rawlen(L, anchors) + 1);
	return s;
}

/* Anchor any value on top of the stack and pop it. */
static void anchor_value(lua_State *L, int anchors)
{
	lua_rawseti(L, anchors, (lua_Integer)lua_rawlen(L, anchors) + 1);
}

/* Field key of the table at idx as an anchored string, or NULL when absent. */
static const char *opt_string_field(lua_State *L, int idx, const char *key, int anchors)
{
	int type = lua_getfield(L, idx, key);

	if (type == LUA_TNIL) {
		lua_pop(L, 1);
		return NULL;
	}
	if (type != LUA_TSTRING)
		luaL_error(L, "plan field '%s' must be a string, got %s", key, lua_typename(L, type));
	return anchor(L, anchors);
}

static bool bool_field(lua_State *L, int idx, const char *key)
{
	bool value;

	lua_getfield(L, idx, key);
	value = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return value;
}

static lua_Integer int_field(lua_State *L, int idx, const char *key)
{
	lua_Integer value;
	int isnum;

	lua_getfield(L, idx, key);
	value = lua_tointegerx(L, -1, &isnum);
	if (!isnum)
		luaL_error(L, "plan field '%s' must be an integer, got %s", key, luaL_typename(L, -1));
	lua_pop(L, 1);
	return value;
}

/* An rlimit value: an integer, or "unlimited". */
static rlim_t limit_field(lua_State *L, int idx, const char *key)
{
	rlim_t value;

	lua_getfield(L, idx, key);
	if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "unlimited") == 0)
		value = RLIM_INFINITY;
	else
		value = (rlim_t)luaL_checkinteger(L, -1);
	lua_pop(L, 1);
	return value;
}

/* The root and base prefixes of the target: the child copies them, so they must lie within it. */
static void read_target_lengths(lua_State *L, int idx, struct step *step)
{
	size_t len = step->target ? strlen(step->target) : 0;
	lua_Integer root = lua_getfield(L, idx, "root_len") == LUA_TNUMBER ? lua_tointeger(L, -1) : 0;
	lua_Integer base = lua_getfield(L, idx, "base_len") == LUA_TNUMBER ? lua_tointeger(L, -1) : 0;

	lua_pop(L, 2);
	if (root < 0 || base < root || (size_t)base > len)
		luaL_error(L, "plan step '%s': root_len and base_len must satisfy 0 <= root_len <= base_len <= #target",
			   step->desc);
	step->root_len = (size_t)root;
	step->base_len = (size_t)base;
}

static void read_mount_fields(lua_State *L, int idx, struct step *step, int anchors)
{
	step->source = opt_string_field(L, idx, "source", anchors);
	step->target = opt_string_field(L, idx, "target", anchors);
	step->fstype = opt_string_field(L, idx, "fstype", anchors);
	step->optional = bool_field(L, idx, "optional");
	step->readonly = bool_field(L, idx, "readonly");
	step->recursive = bool_field(L, idx, "recursive");
	step->mode = (mode_t)(lua_getfield(L, idx, "mode") == LUA_TNUMBER ? lua_tointeger(L, -1) : 0);
	lua_pop(L, 1);
	read_target_lengths(L, idx, step);
	step->owned = bool_field(L, idx, "owned");
	step->create = rootfs_read_create(L, idx);
	lua_getfield(L, idx, "options");
	mount_parse_flags(L, -1, &step->flags, &step->data);
	if (step->data)
		anchor(L, anchors);
	else
		lua_pop(L, 1);
	lua_pop(L, 1);
}

static void read_identity(lua_State *L, int idx, struct step *step, int anchors)
{
	step->uid = (uid_t)int_field(L, idx, "uid");
	step->gid = (gid_t)int_field(L, idx, "gid");
	step->keep_caps = bool_field(L, idx, "keep_caps");
	step->ngroups = -1;
	if (lua_getfield(L, idx, "groups") == LUA_TTABLE) {
		size_t n = lua_rawlen(L, -1);
		gid_t *groups = lua_newuserdatauv(L, (n ? n : 1) * sizeof(gid_t), 0);

		for (size_t i = 0; i < n; i++) {
			lua_rawgeti(L, -2, (lua_Integer)i + 1);
			groups[i] = (gid_t)luaL_checkinteger(L, -1);
			lua_pop(L, 1);
		}
		lua_rawseti(L, anchors, (lua_Integer)lua_rawlen(L, anchors) + 1);
		step->groups = groups;
		step->ngroups = (int)n;
	}
	lua_pop(L, 1);
}

/* join: a pid, a path or an open file (kept alive by the anchors), and the types to enter. */
static void read_join(lua_State *L, int idx, struct step *step, int anchors)
{
	step->pid = (pid_t)(lua_getfield(L, idx, "pid") == LUA_TNUMBER ? lua_tointeger(L, -1) : 0);
	lua_pop(L, 1);
	step->source = opt_string_field(L, idx, "path", anchors);
	lua_getfield(L, idx, "file");
	if (!lua_isnil(L, -1)) {
		step->stream = luaL_checkudata(L, -1, LUA_FILEHANDLE);
		anchor_value(L, anchors);
	} else {
		lua_pop(L, 1);
	}
	lua_getfield(L, idx, "types");
	step->nstypes = lua_isnil(L, -1) ? 0 : ns_check_flags(L, lua_gettop(L));
	lua_pop(L, 1);
}

static void read_step(lua_State *L, int idx, struct step *step, int anchors)
{
	lua_getfield(L, idx, "op");
	step->op = (enum step_op)luaL_checkoption(L, -1, NULL, step_op_names);
	lua_pop(L, 1);
	step->desc = opt_string_field(L, idx, "desc", anchors);
	if (step->desc == NULL)
		luaL_error(L, "plan step without 'desc'");
	switch (step->op) {
	case STEP_RLIMIT:
		lua_getfield(L, idx, "resource");
		step->resource = rlimit_values[luaL_checkoption(L, -1, NULL, rlimit_names)];
		lua_pop(L, 1);
		step->soft = limit_field(L, idx, "soft");
		step->hard = limit_field(L, idx, "hard");
		break;
	case STEP_DROP_BOUNDING:
	case STEP_CAPS:
		step->caps = caps_read_step(L, idx);
		lua_rawseti(L, anchors, (lua_Integer)lua_rawlen(L, anchors) + 1);
		break;
	case STEP_SECCOMP:
		seccomp_read_step(L, idx, step);
		anchor_value(L, anchors);
		break;
	case STEP_DROP_CAPS:
		step->cap_mask = caps_read_mask(L, idx, "caps");
		break;
	case STEP_IDENTITY:
		read_identity(L, idx, step, anchors);
		break;
	case STEP_UMASK:
		step->mode = (mode_t)int_field(L, idx, "mode");
		break;
	case STEP_JOIN:
		read_join(L, idx, step, anchors);
		break;
	case STEP_UNSHARE:
		lua_getfield(L, idx, "types");
		step->nstypes = ns_check_flags(L, lua_gettop(L));
		lua_pop(L, 1);
		break;
	default:
		read_mount_fields(L, idx, step, anchors);
	}
}

static int read_clone_flags(lua_State *L, int idx)
{
	int flags = 0;

	lua_getfield(L, idx, "namespaces");
	luaL_checktype(L, -1, LUA_TTABLE);
	for (lua_Integer i = 1; lua_geti(L, -1, i) != LUA_TNIL; i++) {
		flags |= ns_flags[luaL_checkoption(L, -1, NULL, ns_names)];
		lua_pop(L, 1);
	}
	lua_pop(L, 2);
	return flags;
}

/* core.plan(plan_table) -> plan userdata */
static int l_plan(lua_State *L)
{
	static const char *const setgroups_names[] = {"auto", "deny", "allow", NULL};
	struct plan *plan;
	size_t nsteps, owned = 0;
	int anchors;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_getfield(L, 1, "steps");
	luaL_checktype(L, -1, LUA_TTABLE);
	nsteps = lua_rawlen(L, -1);
	lua_pop(L, 1);

	plan = lua_newuserdatauv(L, sizeof(*plan) + nsteps * sizeof(struct step), 1);
	memset(plan, 0, sizeof(*plan) + nsteps * sizeof(struct step));
	luaL_setmetatable(L, NSBOX_PLAN_MT);
	lua_newtable(L);
	anchors = lua_gettop(L);

	plan->clone_flags = read_clone_flags(L, 1);
	plan->uid_map = opt_string_field(L, 1, "uid_map", anchors);
	plan->gid_map = opt_string_field(L, 1, "gid_map", anchors);
	lua_getfield(L, 1, "setgroups");
	plan->setgroups = (enum setgroups_policy)luaL_checkoption(L, -1, "auto", setgroups_names);
	lua_pop(L, 1);
	plan->init = bool_field(L, 1, "init");
	plan->die_with_parent = bool_field(L, 1, "die_with_parent");
	plan->new_session = bool_field(L, 1, "new_session");
	plan->argv0 = opt_string_field(L, 1, "argv0", anchors);

	lua_getfield(L, 1, "steps");
	for (size_t i = 0; i < nsteps; i++) {
		lua_geti(L, -1, (lua_Integer)i + 1);
		luaL_checktype(L, -1, LUA_TTABLE);
		read_step(L, lua_gettop(L), &plan->steps[i], anchors);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	plan->nsteps = nsteps;
	plan->supervised = plan->init;
	for (size_t i = 0; i < nsteps; i++) {
		plan->supervised |= plan->steps[i].op == STEP_FORK;
		plan->seccomp = plan->steps[i].op == STEP_SECCOMP ? &plan->steps[i] : plan->seccomp;
		owned += plan->steps[i].owned;
	}
	if (owned > NSBOX_OWNED_MAX) { /* the recipe's mistake: no position of nsbox's own in the message */
		lua_pushfstring(L, "'mounts': at most %d tmpfs and dev mounts (the rootfs included), got %d",
				NSBOX_OWNED_MAX, (int)owned);
		lua_error(L);
	}
	lua_setiuservalue(L, -2, 1);
	return 1;
}

static int plan_tostring(lua_State *L)
{
	const struct plan *plan = luaL_checkudata(L, 1, NSBOX_PLAN_MT);

	lua_pushfstring(L, "nsbox.plan{%d steps}", (int)plan->nsteps);
	return 1;
}

void plan_open(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"plan", l_plan},
		{NULL, NULL},
	};

	luaL_newmetatable(L, NSBOX_PLAN_MT);
	lua_pushcfunction(L, plan_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pop(L, 1);
	luaL_setfuncs(L, fns, 0);
	lua_pushinteger(L, NSBOX_OWNED_MAX);
	lua_setfield(L, -2, "MAX_OWNED_MOUNTS");
}
