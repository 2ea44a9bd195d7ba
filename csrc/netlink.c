/*
 * Networks for sandboxes, parent side: links, addresses and routes through
 * rtnetlink, NAT through libnftables, and the user-mode helper processes
 * (slirp4netns, pasta) a rootless sandbox talks through.
 *
 * Why raw rtnetlink: the handful of messages nsbox sends (a veth pair, a
 * bridge, an address, a default route, a link's master, mtu and up flag) fit
 * in one small builder. libnl-route would bring a large object cache and
 * libmnl only the attribute helpers written below; neither is what the
 * kernel, iproute2 or systemd-networkd build on (each has its own), and
 * neither is needed by anything else here. Every call is answered by the
 * kernel's ACK, so an error is the kernel's own errno.
 *
 * Why libnftables for NAT: it is nft's own library, taking the documented
 * nft syntax; the nf_tables netlink protocol below it (expressions, sets,
 * generations) is large and versioned, and is what libnftables exists to
 * hide. It is loaded with dlopen when a recipe first asks for NAT or
 * ports, so a spawn without them pays nothing for it, and a machine
 * without it gets an error naming the package.
 *
 * Every function takes an optional pid last: the operation then happens in
 * that process's network namespace (entered for the call, then left).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <nftables/libnftables.h>

#include <lauxlib.h>

#include "nsbox.h"

extern char **environ;

/* ---- rtnetlink messages ---- */

struct nlmsg {
	struct nlmsghdr *h;
	size_t cap;
	_Alignas(struct nlmsghdr) char buf[1024];
};

static void *msg_start(struct nlmsg *m, int type, int flags, size_t header_len)
{
	memset(&m->buf, 0, sizeof(m->buf));
	m->cap = sizeof(m->buf);
	m->h = (struct nlmsghdr *)(void *)m->buf;
	m->h->nlmsg_type = (unsigned short)type;
	m->h->nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
	m->h->nlmsg_len = NLMSG_LENGTH(header_len);
	return NLMSG_DATA(m->h);
}

/* Every attribute nsbox sends fits; the buffer is sized for the largest message. */
static struct rtattr *attr_put(struct nlmsg *m, int type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)(void *)((char *)m->h + NLMSG_ALIGN(m->h->nlmsg_len));

	if (NLMSG_ALIGN(m->h->nlmsg_len) + RTA_SPACE(len) > m->cap)
		return NULL;
	a->rta_type = (unsigned short)type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	m->h->nlmsg_len = (unsigned)(NLMSG_ALIGN(m->h->nlmsg_len) + RTA_SPACE(len));
	return a;
}

static void attr_str(struct nlmsg *m, int type, const char *s)
{
	attr_put(m, type, s, strlen(s) + 1);
}

static void attr_u32(struct nlmsg *m, int type, uint32_t v)
{
	attr_put(m, type, &v, sizeof(v));
}

static struct rtattr *nest_start(struct nlmsg *m, int type)
{
	return attr_put(m, type, NULL, 0);
}

static void nest_end(struct nlmsg *m, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)m->h + m->h->nlmsg_len - (char *)nest);
}

/* Send m and read the kernel's ACK: 0, or -1 with the kernel's errno. */
static int rtnl_talk(struct nlmsg *m)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	_Alignas(struct nlmsghdr) char reply[4096];
	const struct nlmsghdr *h = (const struct nlmsghdr *)(void *)reply;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	ssize_t n;

	if (fd < 0)
		return -1;
	m->h->nlmsg_seq = 1;
	if (sendto(fd, m->h, m->h->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return close_keeping_errno(fd, -1);
	do
		n = recv(fd, &reply, sizeof(reply), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return close_keeping_errno(fd, -1);
	close(fd);
	if (!NLMSG_OK(h, (size_t)n) || h->nlmsg_type != NLMSG_ERROR) {
		errno = EPROTO;
		return -1;
	}
	errno = -((const struct nlmsgerr *)NLMSG_DATA(h))->error;
	return errno ? -1 : 0;
}

/* ---- in another process's network namespace ---- */

/* Enter pid's network namespace (pid 0: stay): *back is where to return, or -1. */
static int enter_netns(pid_t pid, int *back)
{
	char path[64];
	int target;

	*back = -1;
	if (pid == 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if ((target = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if ((*back = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0 || setns(target, CLONE_NEWNET) < 0) {
		int err = errno;

		close(target);
		if (*back >= 0)
			close(*back);
		*back = -1;
		errno = err;
		return -1;
	}
	close(target);
	return 0;
}

/* Back home; staying in a sandbox's namespace would send every later call there. */
static void leave_netns(int back)
{
	if (back < 0)
		return;
	if (setns(back, CLONE_NEWNET) < 0) {
		fprintf(stderr, "nsbox: cannot return to our own network namespace: %s\n", strerror(errno));
		abort();
	}
	close(back);
}

typedef int (*net_op)(lua_State *L);

/* Run op in the namespace of the pid at stack index pid_idx (absent: ours); push its result triple. */
static int in_netns(lua_State *L, int pid_idx, net_op op, const char *what)
{
	pid_t pid = (pid_t)luaL_optinteger(L, pid_idx, 0);
	int back, rc, err;

	if (enter_netns(pid, &back) < 0)
		return nsbox_fail(L, lua_pushfstring(L, "%s: enter the network namespace of pid %d", what, (int)pid));
	rc = op(L);
	err = errno;
	leave_netns(back);
	errno = err;
	return nsbox_result(L, rc, what);
}

static int link_index(const char *name)
{
	int index = (int)if_nametoindex(name);

	if (index == 0 && errno == 0)
		errno = ENODEV;
	return index;
}

static const char *check_ifname(lua_State *L, int idx)
{
	size_t len;
	const char *name = luaL_checklstring(L, idx, &len);

	luaL_argcheck(L, len > 0 && len < IFNAMSIZ, idx, "interface names are 1 to 15 bytes");
	return name;
}

static struct in_addr check_ipv4(lua_State *L, int idx)
{
	struct in_addr a;

	luaL_argcheck(L, inet_pton(AF_INET, luaL_checkstring(L, idx), &a) == 1, idx, "not an IPv4 address");
	return a;
}

/* ---- the operations (arguments from 1; a pid may follow them) ---- */

/* (host_name, peer_name, peer_pid, mtu): a veth pair, the peer born in peer_pid's namespace. */
static int op_veth_add(lua_State *L)
{
	struct nlmsg m;
	struct ifinfomsg *peer;
	struct rtattr *info, *data, *peer_attr;
	uint32_t mtu = (uint32_t)luaL_checkinteger(L, 4);

	msg_start(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
	attr_str(&m, IFLA_IFNAME, check_ifname(L, 1));
	attr_u32(&m, IFLA_MTU, mtu);
	info = nest_start(&m, IFLA_LINKINFO);
	attr_str(&m, IFLA_INFO_KIND, "veth");
	data = nest_start(&m, IFLA_INFO_DATA);
	peer_attr = nest_start(&m, VETH_INFO_PEER);
	peer = RTA_DATA(peer_attr); /* the peer's payload: its ifinfomsg (zeroed by msg_start), then attributes */
	m.h->nlmsg_len = (unsigned)((char *)peer - (char *)m.h + NLMSG_ALIGN(sizeof(*peer)));
	attr_str(&m, IFLA_IFNAME, check_ifname(L, 2));
	attr_u32(&m, IFLA_NET_NS_PID, (uint32_t)luaL_checkinteger(L, 3));
	attr_u32(&m, IFLA_MTU, mtu);
	nest_end(&m, peer_attr);
	nest_end(&m, data);
	nest_end(&m, info);
	return rtnl_talk(&m);
}

/* (name): a bridge. */
static int op_bridge_add(lua_State *L)
{
	struct nlmsg m;
	struct rtattr *info;

	msg_start(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
	attr_str(&m, IFLA_IFNAME, check_ifname(L, 1));
	info = nest_start(&m, IFLA_LINKINFO);
	attr_str(&m, IFLA_INFO_KIND, "bridge");
	nest_end(&m, info);
	return rtnl_talk(&m);
}

/* (name, master or false, mtu or false): set them, and the link up. */
static int op_link_up(lua_State *L)
{
	struct nlmsg m;
	struct ifinfomsg *ifi = msg_start(&m, RTM_NEWLINK, 0, sizeof(struct ifinfomsg));

	if ((ifi->ifi_index = link_index(check_ifname(L, 1))) == 0)
		return -1;
	ifi->ifi_flags = ifi->ifi_change = IFF_UP;
	if (lua_toboolean(L, 2)) {
		int master = link_index(check_ifname(L, 2));

		if (master == 0)
			return -1;
		attr_u32(&m, IFLA_MASTER, (uint32_t)master);
	}
	if (lua_toboolean(L, 3))
		attr_u32(&m, IFLA_MTU, (uint32_t)luaL_checkinteger(L, 3));
	return rtnl_talk(&m);
}

/* (name): delete a link (a veth's peer goes with it). */
static int op_link_del(lua_State *L)
{
	struct nlmsg m;
	struct ifinfomsg *ifi = msg_start(&m, RTM_DELLINK, 0, sizeof(struct ifinfomsg));

	if ((ifi->ifi_index = link_index(check_ifname(L, 1))) == 0)
		return -1;
	return rtnl_talk(&m);
}

/* (name, address, prefix_len): an IPv4 address on a link. */
static int op_addr_add(lua_State *L)
{
	struct nlmsg m;
	struct ifaddrmsg *ifa = msg_start(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifaddrmsg));
	struct in_addr a = check_ipv4(L, 2);
	lua_Integer prefix = luaL_checkinteger(L, 3);

	luaL_argcheck(L, prefix >= 0 && prefix <= 32, 3, "prefix length from 0 to 32");
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	if ((ifa->ifa_index = (unsigned)link_index(check_ifname(L, 1))) == 0)
		return -1;
	attr_put(&m, IFA_LOCAL, &a, sizeof(a));
	attr_put(&m, IFA_ADDRESS, &a, sizeof(a));
	return rtnl_talk(&m);
}

/* (name, gateway): the default route through gateway on that link. */
static int op_route_default(lua_State *L)
{
	struct nlmsg m;
	struct rtmsg *rt = msg_start(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct rtmsg));
	struct in_addr gw = check_ipv4(L, 2);
	int index = link_index(check_ifname(L, 1));

	if (index == 0)
		return -1;
	rt->rtm_family = AF_INET;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	attr_put(&m, RTA_GATEWAY, &gw, sizeof(gw));
	attr_u32(&m, RTA_OIF, (uint32_t)index);
	return rtnl_talk(&m);
}

static int l_veth_add(lua_State *L) { return in_netns(L, 5, op_veth_add, "create veth pair"); }
static int l_bridge_add(lua_State *L) { return in_netns(L, 2, op_bridge_add, "create bridge"); }
static int l_link_up(lua_State *L) { return in_netns(L, 4, op_link_up, "set link up"); }
static int l_link_del(lua_State *L) { return in_netns(L, 2, op_link_del, "delete link"); }
static int l_addr_add(lua_State *L) { return in_netns(L, 4, op_addr_add, "add address"); }
static int l_route_default(lua_State *L) { return in_netns(L, 3, op_route_default, "add default route"); }

/* core.link_exists(name [, pid]) -> boolean | nil, message, errno */
static int l_link_exists(lua_State *L)
{
	const char *name = check_ifname(L, 1);
	pid_t pid = (pid_t)luaL_optinteger(L, 2, 0);
	int back;
	bool found;

	if (enter_netns(pid, &back) < 0)
		return nsbox_fail(L, lua_pushfstring(L, "look up link: enter the network namespace of pid %d", (int)pid));
	found = link_index(name) != 0;
	leave_netns(back);
	lua_pushboolean(L, found);
	return 1;
}

/* ---- nftables ---- */

/* libnftables, loaded on first use. */
static struct {
	struct nft_ctx *ctx;
	__typeof__(nft_run_cmd_from_buffer) *run;
	__typeof__(nft_ctx_get_error_buffer) *error_text;
} nft;

/* NULL when loaded, or why it cannot be. */
static const char *nft_load(void)
{
	__typeof__(nft_ctx_new) *new_ctx;
	__typeof__(nft_ctx_buffer_error) *buffer_error;
	__typeof__(nft_ctx_buffer_output) *buffer_output;
	void *lib;

	if (nft.ctx)
		return NULL;
	if ((lib = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL)) == NULL)
		return "NAT and ports need libnftables (Debian package libnftables1)";
	*(void **)&new_ctx = dlsym(lib, "nft_ctx_new");
	*(void **)&buffer_error = dlsym(lib, "nft_ctx_buffer_error");
	*(void **)&buffer_output = dlsym(lib, "nft_ctx_buffer_output");
	*(void **)&nft.run = dlsym(lib, "nft_run_cmd_from_buffer");
	*(void **)&nft.error_text = dlsym(lib, "nft_ctx_get_error_buffer");
	if (!new_ctx || !buffer_error || !buffer_output || !nft.run || !nft.error_text ||
	    !(nft.ctx = new_ctx(NFT_CTX_DEFAULT)))
		return "libnftables.so.1 lacks the functions nsbox uses";
	buffer_error(nft.ctx);
	buffer_output(nft.ctx); /* nothing of nft's reaches our stdout */
	return NULL;
}

/* core.nft(commands) -> true | nil, message: nft's own syntax, run as one transaction. */
static int l_nft(lua_State *L)
{
	const char *commands = luaL_checkstring(L, 1);
	const char *why = nft_load();

	if (why == NULL && nft.run(nft.ctx, commands) == 0) {
		lua_pushboolean(L, 1);
		return 1;
	}
	luaL_pushfail(L);
	lua_pushstring(L, why ? why : nft.error_text(nft.ctx));
	return 2;
}

/* core.nft_check() -> true | nil, why: whether core.nft can run. */
static int l_nft_check(lua_State *L)
{
	const char *why = nft_load();

	if (why == NULL) {
		lua_pushboolean(L, 1);
		return 1;
	}
	luaL_pushfail(L);
	lua_pushstring(L, why);
	return 2;
}

/* ---- helper processes ---- */

/* What the helper said on stderr (kept in memfd) after "why", as the failure triple. */
static int helper_failure(lua_State *L, int log_fd, const char *why)
{
	char text[512];
	ssize_t n = pread(log_fd, text, sizeof(text) - 1, 0);

	close(log_fd);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
		n--;
	text[n > 0 ? n : 0] = '\0';
	luaL_pushfail(L);
	lua_pushfstring(L, "%s%s%s", why, n > 0 ? ": " : "", text);
	lua_pushinteger(L, EIO);
	return 3;
}

enum ready { READY, ENDED, LATE };

/* Milliseconds left until deadline (CLOCK_MONOTONIC), 0 once it has passed. */
static int ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000LL + (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (int)(ms < INT_MAX ? ms : INT_MAX) : 0;
}

/*
 * Wait up to seconds for the helper's "ready" byte. A helper that ends
 * first, or is still not ready then (it is killed: a hung helper must not
 * hang the caller), is reaped into *status.
 */
static enum ready helper_ready(int ready_fd, pid_t pid, double seconds, int *status)
{
	struct pollfd p = {.fd = ready_fd, .events = POLLIN};
	struct timespec deadline;
	enum ready result = LATE;
	char byte;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)seconds;
	deadline.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	while ((n = poll(&p, 1, ms_left(&deadline))) < 0 && errno == EINTR)
		;
	if (n > 0) {
		while ((n = (int)read(ready_fd, &byte, 1)) < 0 && errno == EINTR)
			;
		if (n == 1)
			return READY;
		result = ENDED;
	} else {
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return result;
}

/* fds: the helper's 2, 3 and 4; at3, when not NULL, a file opened at 3 instead. */
static int spawn_actions(posix_spawn_file_actions_t *fa, posix_spawnattr_t *attr, const int fds[3], const char *at3)
{
	sigset_t none, all;

	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	if (posix_spawn_file_actions_init(fa) || posix_spawnattr_init(attr))
		return -1;
	/* Our signals are all blocked during a spawn; the helper starts clean, in a group of its own. */
	posix_spawnattr_setsigmask(attr, &none);
	posix_spawnattr_setsigdefault(attr, &all);
	posix_spawnattr_setpgroup(attr, 0);
	posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(fa, fds[0], 2);
	if (at3)
		posix_spawn_file_actions_addopen(fa, 3, at3, O_RDONLY, 0);
	else
		posix_spawn_file_actions_adddup2(fa, fds[1], 3);
	posix_spawn_file_actions_adddup2(fa, fds[2], 4);
	/* Nothing else of ours: a descriptor the caller left without close-on-exec is not the helper's. */
	posix_spawn_file_actions_addclosefrom_np(fa, 5);
	return 0;
}

/* The descriptors of a helper's start: its log (a memfd, its stderr), the exit pipe, the ready pipe. */
struct helper_fds {
	int log, exit[2], ready[2];
};

static void close_helper_fds(struct helper_fds *h)
{
	close_fd(&h->log);
	for (int i = 0; i < 2; i++) {
		close_fd(&h->exit[i]);
		close_fd(&h->ready[i]);
	}
}

/*
 * The helper's log and pipes, those it gets moved above 4: a dup2 to 0..4
 * must neither overwrite one not yet copied (the ready pipe at 3, the log
 * at 0 with stdin closed) nor be a no-op leaving close-on-exec set.
 */
static int open_helper_fds(struct helper_fds *h)
{
	if ((h->log = memfd_create("nsbox-helper-log", MFD_CLOEXEC)) < 0 || pipe2(h->exit, O_CLOEXEC) < 0 ||
	    pipe2(h->ready, O_CLOEXEC) < 0)
		return -1;
	return fd_above(&h->log, 5) < 0 || fd_above(&h->exit[0], 5) < 0 || fd_above(&h->ready[1], 5) < 0 ? -1 : 0;
}

/* The helper's argv (1 to 63 words) from the list at idx, anchored by it. */
static void read_helper_argv(lua_State *L, int idx, const char *argv[64])
{
	int n = (int)luaL_len(L, idx);

	luaL_argcheck(L, n > 0 && n < 64, idx, "1 to 63 words");
	for (int i = 0; i < n; i++) {
		lua_rawgeti(L, idx, i + 1);
		argv[i] = luaL_checkstring(L, -1);
		lua_pop(L, 1);
	}
	argv[n] = NULL;
}

/*
 * core.helper_start(argv, at3, seconds) -> pid, exit_fd | nil, message, errno. The
 * helper (slirp4netns's protocol) gets the read end of a pipe at fd 3 and
 * ends when it closes (--exit-fd=3), and says it is ready on fd 4
 * (--ready-fd=4). We keep exit_fd, so the helper also ends if we die. With
 * at3, fd 3 is that file instead, opened by us for the helper (pasta: the
 * sandbox's network namespace, which pasta, without capabilities, could
 * not open itself); such a helper is stopped by helper_stop's "terminate".
 * A helper not ready within seconds is killed, and the failure says so.
 * It gets fds 0 to 4 and no other of ours.
 */
static int l_helper_start(lua_State *L)
{
	const char *argv[64], *at3 = luaL_optstring(L, 2, NULL);
	double seconds = luaL_checknumber(L, 3);
	struct helper_fds h = {-1, {-1, -1}, {-1, -1}};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int status = 0, err, log_fd;
	enum ready ready_or_not;
	pid_t pid;

	read_helper_argv(L, 1, argv);
	if (open_helper_fds(&h) < 0 || spawn_actions(&fa, &attr, (int[]){h.log, h.exit[0], h.ready[1]}, at3) < 0) {
		err = errno;
		close_helper_fds(&h);
		return (errno = err), nsbox_fail(L, "helper pipes");
	}
	err = posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close_fd(&h.exit[0]);
	close_fd(&h.ready[1]);
	if (err) {
		close_helper_fds(&h);
		return (errno = err), nsbox_fail(L, lua_pushfstring(L, "start %s", argv[0]));
	}
	ready_or_not = helper_ready(h.ready[0], pid, seconds, &status);
	log_fd = h.log;
	h.log = -1; /* helper_failure's to close, or ours below */
	close_fd(&h.ready[0]);
	if (ready_or_not != READY)
		close_fd(&h.exit[1]);
	if (ready_or_not == LATE)
		return helper_failure(L, log_fd, lua_pushfstring(L, "%s was not ready within %f s (killed)", argv[0],
								   (lua_Number)seconds));
	if (ready_or_not == ENDED)
		return helper_failure(L, log_fd, lua_pushfstring(L, "%s exited with status %d before it was ready",
								   argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)));
	close(log_fd);
	lua_pushinteger(L, pid);
	lua_pushinteger(L, h.exit[1]);
	return 2;
}

/*
 * core.helper_stop(pid, exit_fd [, "terminate"]): tell the helper to end (its
 * exit fd closes; with "terminate", SIGTERM too) and reap it.
 */
static int l_helper_stop(lua_State *L)
{
	static const char *const how[] = {"exit_fd", "terminate", NULL};
	pid_t pid = (pid_t)luaL_checkinteger(L, 1);
	int status;

	close((int)luaL_checkinteger(L, 2));
	if (luaL_checkoption(L, 3, "exit_fd", how) == 1)
		kill(pid, SIGTERM);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return 0;
}

/*
 * core.unix_request(path, text) -> reply | nil, message, errno: one request
 * on a stream socket, its reply read to EOF or 4 KiB (slirp4netns's API
 * answers one JSON object and closes).
 */
static int l_unix_request(lua_State *L)
{
	size_t len;
	const char *path = luaL_checkstring(L, 1), *text = luaL_checklstring(L, 2, &len);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char reply[4096];
	size_t got = 0;
	ssize_t n = 0;
	int fd;

	luaL_argcheck(L, strlen(path) < sizeof(addr.sun_path), 1, "socket path too long");
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return nsbox_fail(L, path);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || write(fd, text, len) != (ssize_t)len ||
	    shutdown(fd, SHUT_WR) < 0) {
		close_keeping_errno(fd, -1);
		return nsbox_fail(L, path);
	}
	while (got < sizeof(reply) && ((n = read(fd, reply + got, sizeof(reply) - got)) > 0 || (n < 0 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	close_keeping_errno(fd, 0);
	if (n < 0)
		return nsbox_fail(L, path);
	lua_pushlstring(L, reply, got);
	return 1;
}

void netlink_open(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"veth_add", l_veth_add},
		{"bridge_add", l_bridge_add},
		{"link_up", l_link_up},
		{"link_del", l_link_del},
		{"link_exists", l_link_exists},
		{"addr_add", l_addr_add},
		{"route_default", l_route_default},
		{"nft", l_nft},
		{"nft_check", l_nft_check},
		{"helper_start", l_helper_start},
		{"helper_stop", l_helper_stop},
		{"unix_request", l_unix_request},
		{NULL, NULL},
	};

	luaL_setfuncs(L, fns, 0);
}
