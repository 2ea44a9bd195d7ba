/*
 * System-call filters. The parent turns a validated profile into a BPF
 * program with libseccomp (or takes a ready one, as bubblewrap's --seccomp
 * does) and keeps it in a userdata; the child only hands that program to the
 * kernel, the last thing before exec, so nothing there allocates or links
 * against libseccomp's state.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <seccomp.h>

#include "nsbox.h"

#define NSBOX_SECCOMP_MT "nsbox.seccomp"

/* The kernel's limit on one program (BPF_MAXINSNS). */
#define MAX_INSNS 4096

/* A program and its instructions, in one userdata that never moves. */
struct filter {
	struct sock_fprog prog;
	struct sock_filter insns[];
};

/* The architectures libseccomp knows, by the names recipes use. */
static const char *const arch_names[] = {
	"x86", "x86_64", "x32", "arm", "aarch64", "mips", "mips64", "mips64n32", "mipsel", "mipsel64",
	"mipsel64n32", "ppc", "ppc64", "ppc64le", "s390", "s390x", "parisc", "parisc64", "riscv64", NULL,
};

static const char *const action_names[] = {
	"allow", "errno", "kill", "kill_thread", "kill_process", "trap", "log", NULL,
};

static const char *const op_names[] = {"ne", "lt", "le", "eq", "ge", "gt", "masked_eq", NULL};
static const enum scmp_compare op_values[] = {
	SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ,
};

static const char *const flag_names[] = {"log", "spec_allow", NULL};
static const unsigned int flag_values[] = {SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW};

/* The action of the table at idx: its field key (a name) and, for "errno", its field `errno`. */
static uint32_t read_action(lua_State *L, int idx, const char *key)
{
	static const uint32_t values[] = {
		SCMP_ACT_ALLOW, 0, SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, SCMP_ACT_LOG,
	};
	int which;

	lua_getfield(L, idx, key);
	which = luaL_checkoption(L, -1, NULL, action_names);
	lua_pop(L, 1);
	if (strcmp(action_names[which], "errno") != 0)
		return values[which];
	lua_getfield(L, idx, "errno");
	which = (int)luaL_checkinteger(L, -1);
	lua_pop(L, 1);
	return SCMP_ACT_ERRNO((uint32_t)which);
}

static uint64_t u64_field(lua_State *L, int idx, const char *key)
{
	uint64_t value;

	lua_getfield(L, idx, key);
	value = (uint64_t)luaL_optinteger(L, -1, 0);
	lua_pop(L, 1);
	return value;
}

/* The argument comparisons of the rule at idx into cmp (at most six, one per argument). */
static unsigned int read_args(lua_State *L, int idx, struct scmp_arg_cmp cmp[6])
{
	unsigned int n = 0;

	if (lua_getfield(L, idx, "args") == LUA_TTABLE) {
		for (lua_Integer i = 1; n < 6 && lua_geti(L, -1, i) == LUA_TTABLE; i++, n++) {
			lua_getfield(L, -1, "op");
			cmp[n].op = op_values[luaL_checkoption(L, -1, NULL, op_names)];
			lua_pop(L, 1);
			cmp[n].arg = (unsigned int)u64_field(L, -1, "index");
			cmp[n].datum_a = u64_field(L, -1, "value");
			cmp[n].datum_b = u64_field(L, -1, "value2");
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return n;
}

/*
 * One rule (the table at idx: action, syscall, args). A rule doing what the
 * default does adds nothing, and libseccomp refuses it: skipped, as crun and
 * runc skip it. A name libseccomp does not know at all is skipped too (the
 * Lua side refuses it in a recipe, and leaves it out of an OCI profile, as
 * crun does); one it knows for another ABI only resolves per architecture.
 */
static int add_rule(lua_State *L, scmp_filter_ctx ctx, int idx, uint32_t default_action)
{
	struct scmp_arg_cmp cmp[6];
	uint32_t action = read_action(L, idx, "action");
	unsigned int n = read_args(L, idx, cmp);
	int nr, rc;

	lua_getfield(L, idx, "syscall");
	nr = seccomp_syscall_resolve_name(luaL_checkstring(L, -1));
	lua_pop(L, 1);
	if (action == default_action || nr == __NR_SCMP_ERROR)
		return 0;
	rc = seccomp_rule_add_array(ctx, action, nr, n, cmp);
	return rc == -EEXIST ? 0 : rc; /* the same rule twice: once is enough */
}

static int add_arches(lua_State *L, scmp_filter_ctx ctx, int idx)
{
	int rc = 0;

	if (lua_getfield(L, idx, "architectures") == LUA_TTABLE) {
		for (lua_Integer i = 1; rc == 0 && lua_geti(L, -1, i) == LUA_TSTRING; i++) {
			rc = seccomp_arch_add(ctx, seccomp_arch_resolve_name(lua_tostring(L, -1)));
			if (rc == -EEXIST) /* the native one is there from the start */
				rc = 0;
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return rc;
}

/* The program libseccomp made, read back from a memory file into a new userdata. */
static struct filter *export_filter(lua_State *L, scmp_filter_ctx ctx)
{
	int fd = memfd_create("nsbox-seccomp", MFD_CLOEXEC);
	struct filter *f = NULL;
	struct stat st;
	int rc;

	if (fd < 0)
		return NULL;
	rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0)
		errno = -rc;
	else if (fstat(fd, &st) == 0 && st.st_size % (off_t)sizeof(struct sock_filter) == 0) {
		size_t n = (size_t)st.st_size / sizeof(struct sock_filter);

		f = lua_newuserdatauv(L, sizeof(*f) + n * sizeof(struct sock_filter), 0);
		f->prog.len = (unsigned short)n;
		f->prog.filter = f->insns;
		if (n > MAX_INSNS || pread(fd, f->insns, (size_t)st.st_size, 0) != st.st_size) {
			errno = n > MAX_INSNS ? E2BIG : EIO;
			lua_pop(L, 1);
			f = NULL;
		}
	}
	close(fd);
	return f;
}

/* Build the filter of spec (at 1) in ctx: nil on success, else the message's subject pushed. */
static int build(lua_State *L, scmp_filter_ctx ctx, uint32_t default_action)
{
	int rc;

	/* A binary tree of the syscalls: every call pays log(n), not n, checks. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if ((rc = add_arches(L, ctx, 1)) < 0) {
		lua_pushliteral(L, "architectures");
		return rc;
	}
	lua_getfield(L, 1, "rules");
	for (lua_Integer i = 1; lua_geti(L, -1, i) == LUA_TTABLE; i++) {
		if ((rc = add_rule(L, ctx, lua_gettop(L), default_action)) < 0) {
			lua_getfield(L, -1, "where");
			return rc;
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 2);
	return 0;
}

/*
 * core.seccomp_compile{default=, errno=, architectures=, rules={{action=,
 * errno=, syscall=, args=, where=}...}} -> filter | nil, message, errno.
 * The profile was validated in Lua; a rule libseccomp still refuses is
 * named by its `where`.
 */
static int l_seccomp_compile(lua_State *L)
{
	uint32_t default_action;
	scmp_filter_ctx ctx;
	struct filter *f;
	int rc;

	luaL_checktype(L, 1, LUA_TTABLE);
	default_action = read_action(L, 1, "default");
	if ((ctx = seccomp_init(default_action)) == NULL)
		return nsbox_fail(L, "seccomp_init");
	if ((rc = build(L, ctx, default_action)) < 0) {
		const char *what = lua_pushfstring(L, "'%s'", lua_tostring(L, -1));

		seccomp_release(ctx);
		errno = -rc;
		return nsbox_fail(L, what);
	}
	f = export_filter(L, ctx);
	seccomp_release(ctx);
	if (f == NULL)
		return nsbox_fail(L, "seccomp_export_bpf");
	luaL_setmetatable(L, NSBOX_SECCOMP_MT);
	return 1;
}

/* core.seccomp_program(bytes) -> filter: a ready program (bubblewrap's --seccomp FD); checked in Lua. */
static int l_seccomp_program(lua_State *L)
{
	size_t len;
	const char *bytes = luaL_checklstring(L, 1, &len);
	size_t n = len / sizeof(struct sock_filter);
	struct filter *f;

	luaL_argcheck(L, n > 0 && n <= MAX_INSNS && len % sizeof(struct sock_filter) == 0, 1,
		      "a BPF program of 1 to 4096 instructions of 8 bytes");
	f = lua_newuserdatauv(L, sizeof(*f) + len, 0);
	f->prog.len = (unsigned short)n;
	f->prog.filter = f->insns;
	memcpy(f->insns, bytes, len);
	luaL_setmetatable(L, NSBOX_SECCOMP_MT);
	return 1;
}

/* core.seccomp_known(name) -> true when libseccomp knows the syscall on some architecture. */
static int l_seccomp_known(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	bool known = false;

	for (int i = 0; arch_names[i] && !known; i++)
		known = seccomp_syscall_resolve_name_arch(seccomp_arch_resolve_name(arch_names[i]), name) !=
			__NR_SCMP_ERROR;
	lua_pushboolean(L, known);
	return 1;
}

/* core.seccomp_syscalls() -> the native architecture's syscall names, for suggestions. */
static int l_seccomp_syscalls(lua_State *L)
{
	lua_Integer n = 0;

	lua_newtable(L);
	for (int nr = 0; nr < 1024; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		if (name) {
			lua_pushstring(L, name);
			lua_rawseti(L, -2, ++n);
			free(name);
		}
	}
	return 1;
}

/* core.seccomp_names() -> the architectures (and the native one), actions, comparisons and flags filters take. */
static int l_seccomp_names(lua_State *L)
{
	static const char *const *const lists[] = {arch_names, action_names, op_names, flag_names};
	static const char *const keys[] = {"architectures", "actions", "ops", "flags"};

	lua_newtable(L);
	for (int k = 0; k < 4; k++) {
		lua_newtable(L);
		for (int i = 0; lists[k][i]; i++) {
			lua_pushstring(L, lists[k][i]);
			lua_rawseti(L, -2, i + 1);
		}
		lua_setfield(L, -2, keys[k]);
	}
	for (int i = 0; arch_names[i]; i++)
		if (seccomp_arch_resolve_name(arch_names[i]) == seccomp_arch_native()) {
			lua_pushstring(L, arch_names[i]);
			lua_setfield(L, -2, "native");
		}
	return 1;
}

/* core.errno_names() -> {[1] = "EPERM", ...}: this C library's names for errno values. */
static int l_errno_names(lua_State *L)
{
	lua_newtable(L);
	for (int e = 1; e < 4096; e++) {
		const char *name = strerrorname_np(e);

		if (name) {
			lua_pushstring(L, name);
			lua_rawseti(L, -2, e);
		}
	}
	return 1;
}

static int filter_tostring(lua_State *L)
{
	const struct filter *f = luaL_checkudata(L, 1, NSBOX_SECCOMP_MT);

	lua_pushfstring(L, "nsbox.seccomp{%d instructions}", (int)f->prog.len);
	return 1;
}

static int filter_len(lua_State *L)
{
	const struct filter *f = luaL_checkudata(L, 1, NSBOX_SECCOMP_MT);

	lua_pushinteger(L, f->prog.len);
	return 1;
}

/* Parent side: the seccomp step at idx; leaves the filter userdata on the stack for the plan to anchor. */
void seccomp_read_step(lua_State *L, int idx, struct step *step)
{
	step->seccomp_flags = 0;
	if (lua_getfield(L, idx, "flags") == LUA_TTABLE)
		for (lua_Integer i = 1; lua_geti(L, -1, i) != LUA_TNIL; i++) {
			step->seccomp_flags |= flag_values[luaL_checkoption(L, -1, NULL, flag_names)];
			lua_pop(L, 1);
		}
	lua_pop(L, 2);
	lua_getfield(L, idx, "no_new_privs");
	step->no_new_privs = lua_toboolean(L, -1);
	lua_pop(L, 1);
	lua_getfield(L, idx, "filter");
	step->filter = &((const struct filter *)luaL_checkudata(L, -1, NSBOX_SECCOMP_MT))->prog;
}

void seccomp_open(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"seccomp_compile", l_seccomp_compile},
		{"seccomp_program", l_seccomp_program},
		{"seccomp_known", l_seccomp_known},
		{"seccomp_syscalls", l_seccomp_syscalls},
		{"seccomp_names", l_seccomp_names},
		{"errno_names", l_errno_names},
		{NULL, NULL},
	};

	luaL_newmetatable(L, NSBOX_SECCOMP_MT);
	lua_pushcfunction(L, filter_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushcfunction(L, filter_len);
	lua_setfield(L, -2, "__len");
	lua_pop(L, 1);
	luaL_setfuncs(L, fns, 0);
}
