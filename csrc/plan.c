/*
 * Plans: the Lua plan table compiled by nsbox.recipe -> one C struct in a
 * userdata (plan.h), and every reading of a plan's parts from Lua: mount
 * options, namespace names, capability sets. Strings are not copied: each
 * is anchored in the userdata's own table, so they live as long as the plan
 * whatever happens to the Lua table.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "nsbox.h"

/* The ops a plan's steps may have; a name table (plan.h). */
const struct step_type step_types[] = {
	[STEP_HOSTNAME] = {.name = "hostname"},
	[STEP_DOMAINNAME] = {.name = "domainname"},
	[STEP_MOUNT] = {.name = "mount"},
	[STEP_BIND] = {.name = "bind"},
	[STEP_LOOPBACK] = {.name = "loopback"},
	[STEP_CHDIR] = {.name = "chdir"},
	[STEP_RLIMIT] = {.name = "rlimit"},
	[STEP_DROP_BOUNDING] = {.name = "drop_bounding"},
	[STEP_IDENTITY] = {.name = "identity"},
	[STEP_CAPS] = {.name = "caps"},
	[STEP_NO_NEW_PRIVS] = {.name = "no_new_privs"},
	[STEP_DIE_WITH_PARENT] = {.name = "die_with_parent"},
	[STEP_UMASK] = {.name = "umask"},
	[STEP_JOIN] = {.name = "join"},
	[STEP_UNSHARE] = {.name = "unshare"},
	[STEP_TIME_OFFSETS] = {.name = "time_offsets"},
	[STEP_FORK] = {.name = "fork"},
	[STEP_MKDIR] = {.name = "mkdir"},
	[STEP_WRITE_FILE] = {.name = "write_file"},
	[STEP_SYMLINK] = {.name = "symlink"},
	[STEP_MASK] = {.name = "mask"},
	[STEP_SYSCTL] = {.name = "sysctl"},
	[STEP_PIVOT_ROOT] = {.name = "pivot_root"},
	[STEP_CHROOT] = {.name = "chroot"},
	[STEP_REMOUNT_RO] = {.name = "remount_ro"},
	[STEP_DROP_CAPS] = {.name = "drop_caps"},
	[STEP_SECCOMP] = {.name = "seccomp"},
	[STEP_PAUSE] = {.name = "pause"},
	{.name = NULL}, /* after the last op */
};

/* setrlimit(2)'s resources by the names recipes use; a name table (plan.h). */
const struct rlimit_type rlimit_types[] = {
	{.name = "as", .resource = RLIMIT_AS},
	{.name = "core", .resource = RLIMIT_CORE},
	{.name = "cpu", .resource = RLIMIT_CPU},
	{.name = "data", .resource = RLIMIT_DATA},
	{.name = "fsize", .resource = RLIMIT_FSIZE},
	{.name = "locks", .resource = RLIMIT_LOCKS},
	{.name = "memlock", .resource = RLIMIT_MEMLOCK},
	{.name = "msgqueue", .resource = RLIMIT_MSGQUEUE},
	{.name = "nice", .resource = RLIMIT_NICE},
	{.name = "nofile", .resource = RLIMIT_NOFILE},
	{.name = "nproc", .resource = RLIMIT_NPROC},
	{.name = "rss", .resource = RLIMIT_RSS},
	{.name = "rtprio", .resource = RLIMIT_RTPRIO},
	{.name = "rttime", .resource = RLIMIT_RTTIME},
	{.name = "sigpending", .resource = RLIMIT_SIGPENDING},
	{.name = "stack", .resource = RLIMIT_STACK},
	{.name = NULL},
};

#define NSBOX_CAPS_MT "nsbox.caps"

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

/* The step's "create" field: what to make at its target when missing. */
static enum step_create read_create(lua_State *L, int idx)
{
	static const char *const names[] = {"none", "dir", "file", "like_source", NULL};
	enum step_create kind;

	lua_getfield(L, idx, "create");
	kind = (enum step_create)luaL_checkoption(L, -1, "none", names);
	lua_pop(L, 1);
	return kind;
}

static void add_option(const char *word, size_t len, unsigned long *flags, luaL_Buffer *data)
{
	if (mount_option(word, len, flags) || len == 0)
		return;
	/* Anything else is the filesystem's business, as with mount -o. */
	if (luaL_bufflen(data) > 0)
		luaL_addchar(data, ',');
	luaL_addlstring(data, word, len);
}

static void add_option_list(const char *text, unsigned long *flags, luaL_Buffer *data)
{
	const char *comma;

	while ((comma = strchr(text, ',')) != NULL) {
		add_option(text, (size_t)(comma - text), flags, data);
		text = comma + 1;
	}
	add_option(text, strlen(text), flags, data);
}

/* Options are nil, "nosuid,size=1m" or a list of such strings. */
void plan_read_mount_options(lua_State *L, int idx, unsigned long *flags, const char **data_out)
{
	luaL_Buffer data;
	int type = lua_type(L, idx);

	idx = lua_absindex(L, idx);
	*flags = 0;
	luaL_argexpected(L, type == LUA_TNONE || type == LUA_TNIL || type == LUA_TSTRING || type == LUA_TTABLE,
			 idx, "string, list of strings or nil");
	luaL_buffinit(L, &data);
	if (type == LUA_TSTRING) {
		add_option_list(lua_tostring(L, idx), flags, &data);
	} else if (type == LUA_TTABLE) {
		for (lua_Integer i = 1; lua_geti(L, idx, i) != LUA_TNIL; i++) {
			const char *word = lua_tostring(L, -1);

			if (word == NULL) {
				luaL_error(L, "mount option #%d: expected a string, got %s", (int)i, luaL_typename(L, -1));
				return;
			}
			lua_pop(L, 1); /* anchored by the table */
			add_option_list(word, flags, &data);
		}
		lua_pop(L, 1);
	}
	if (luaL_bufflen(&data) == 0) {
		luaL_pushresult(&data);
		lua_pop(L, 1);
		lua_pushnil(L);
		*data_out = NULL;
	} else {
		luaL_pushresult(&data);
		*data_out = lua_tostring(L, -1);
	}
}

/* The error for a list's entry i that names no namespace: the names it could have been. */
static int bad_namespace(lua_State *L, lua_Integer i, const char *name)
{
	luaL_Buffer known;

	luaL_buffinit(L, &known);
	for (int k = 0; ns_types[k].name; k++) {
		luaL_addstring(&known, k ? ", " : "");
		luaL_addstring(&known, ns_types[k].name);
	}
	luaL_pushresult(&known);
	return luaL_error(L, "bad namespace #%d '%s' (expected one of %s)", (int)i, name, lua_tostring(L, -1));
}

/* A namespace name, or a list of them, at idx -> CLONE_NEW* flags. */
int plan_read_namespaces(lua_State *L, int idx)
{
	int flags = 0;

	if (lua_type(L, idx) == LUA_TSTRING)
		return ns_types[nsbox_check_row(L, idx, ns_types, sizeof(ns_types[0]))].flag;
	luaL_checktype(L, idx, LUA_TTABLE);
	for (lua_Integer i = 1; lua_geti(L, idx, i) != LUA_TNIL; i++) {
		size_t len;
		const char *name = lua_tolstring(L, -1, &len);
		int found = name ? find_row(ns_types, sizeof(ns_types[0]), name, len) : -1;

		if (found < 0)
			return bad_namespace(L, i, name ? name : luaL_typename(L, -1));
		flags |= ns_types[found].flag;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return flags;
}

/* A list of capability numbers at field key of the table at idx -> bit mask. */
static uint64_t read_cap_mask(lua_State *L, int idx, const char *key)
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
static const struct caps_plan *read_caps(lua_State *L, int idx)
{
	struct caps_plan *caps = lua_newuserdatauv(L, sizeof(*caps), 0);

	memset(caps, 0, sizeof(*caps));
	if (luaL_newmetatable(L, NSBOX_CAPS_MT)) {
		lua_pushcfunction(L, caps_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	caps->last_cap = (int)cap_max_bits() - 1;
	caps->bounding = read_cap_mask(L, idx, "bounding");
	caps->ambient = read_cap_mask(L, idx, "ambient");
	caps->sets = cap_init();
	if (caps->sets == NULL)
		luaL_error(L, "cap_init: %s", strerror(errno));
	add_flag(caps->sets, CAP_EFFECTIVE, read_cap_mask(L, idx, "effective"), caps->last_cap);
	add_flag(caps->sets, CAP_PERMITTED, read_cap_mask(L, idx, "permitted"), caps->last_cap);
	add_flag(caps->sets, CAP_INHERITABLE, read_cap_mask(L, idx, "inheritable"), caps->last_cap);
	return caps;
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
	step->create = read_create(L, idx);
	lua_getfield(L, idx, "options");
	plan_read_mount_options(L, -1, &step->flags, &step->data);
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
	step->fd = -1;
	lua_getfield(L, idx, "file");
	if (!lua_isnil(L, -1)) {
		step->file = luaL_checkudata(L, -1, LUA_FILEHANDLE);
		anchor_value(L, anchors);
	} else {
		lua_pop(L, 1);
	}
	lua_getfield(L, idx, "types");
	step->nstypes = lua_isnil(L, -1) ? 0 : plan_read_namespaces(L, lua_gettop(L));
	lua_pop(L, 1);
}

static void read_step(lua_State *L, int idx, struct step *step, int anchors)
{
	lua_getfield(L, idx, "op");
	step->op = (enum step_op)nsbox_check_row(L, -1, step_types, sizeof(step_types[0]));
	lua_pop(L, 1);
	step->desc = opt_string_field(L, idx, "desc", anchors);
	if (step->desc == NULL)
		luaL_error(L, "plan step without 'desc'");
	switch (step->op) {
	case STEP_RLIMIT:
		lua_getfield(L, idx, "resource");
		step->resource = rlimit_types[nsbox_check_row(L, -1, rlimit_types, sizeof(rlimit_types[0]))].resource;
		lua_pop(L, 1);
		step->soft = limit_field(L, idx, "soft");
		step->hard = limit_field(L, idx, "hard");
		break;
	case STEP_DROP_BOUNDING:
	case STEP_CAPS:
		step->caps = read_caps(L, idx);
		lua_rawseti(L, anchors, (lua_Integer)lua_rawlen(L, anchors) + 1);
		break;
	case STEP_SECCOMP:
		seccomp_read_step(L, idx, step);
		anchor_value(L, anchors);
		break;
	case STEP_DROP_CAPS:
		step->cap_mask = read_cap_mask(L, idx, "caps");
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
		step->nstypes = plan_read_namespaces(L, lua_gettop(L));
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
		flags |= ns_types[nsbox_check_row(L, -1, ns_types, sizeof(ns_types[0]))].flag;
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
	for (size_t i = 0; i < nsteps; i++) {
		plan->forks |= plan->steps[i].op == STEP_FORK;
		plan->pauses |= plan->steps[i].op == STEP_PAUSE;
		plan->seccomp = plan->steps[i].op == STEP_SECCOMP ? &plan->steps[i] : plan->seccomp;
		owned += plan->steps[i].owned;
	}
	plan->supervised = plan->init || plan->forks;
	if (owned > NSBOX_OWNED_MAX) { /* the recipe's mistake: no position of nsbox's own in the message */
		lua_pushfstring(L, "'mounts': at most %d tmpfs and dev mounts (the rootfs included), got %d",
				NSBOX_OWNED_MAX, (int)owned);
		lua_error(L);
	}
	lua_setiuservalue(L, -2, 1);
	return 1;
}

/*
 * Before each spawn: the descriptors of the files a join step enters by, as
 * they are now (a file closed since the plan was made fails that step).
 */
void plan_bind_files(struct plan *plan)
{
	for (size_t i = 0; i < plan->nsteps; i++) {
		const luaL_Stream *file = plan->steps[i].file;

		if (file)
			plan->steps[i].fd = file->closef ? fileno(file->f) : -1;
	}
}

static int plan_tostring(lua_State *L)
{
	const struct plan *plan = luaL_checkudata(L, 1, NSBOX_PLAN_MT);

	lua_pushfstring(L, "nsbox.plan{%d steps}", (int)plan->nsteps);
	return 1;
}

/* The rows of the name tables as core.STEPS, core.NAMESPACES and core.RLIMITS show them, by name. */
static void step_fields(lua_State *L, const void *row)
{
	lua_pushinteger(L, (const struct step_type *)row - step_types);
	lua_setfield(L, -2, "op");
}

static void ns_fields(lua_State *L, const void *row)
{
	const struct ns_type *ns = row;

	lua_pushinteger(L, ns->flag);
	lua_setfield(L, -2, "flag");
	lua_pushstring(L, ns->proc);
	lua_setfield(L, -2, "proc");
}

static void rlimit_fields(lua_State *L, const void *row)
{
	lua_pushinteger(L, ((const struct rlimit_type *)row)->resource);
	lua_setfield(L, -2, "resource");
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
	nsbox_push_rows(L, step_types, sizeof(step_types[0]), step_fields);
	lua_setfield(L, -2, "STEPS");
	nsbox_push_rows(L, ns_types, sizeof(ns_types[0]), ns_fields);
	lua_setfield(L, -2, "NAMESPACES");
	nsbox_push_rows(L, rlimit_types, sizeof(rlimit_types[0]), rlimit_fields);
	lua_setfield(L, -2, "RLIMITS");
}
