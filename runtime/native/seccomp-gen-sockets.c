/*
 * Which sockets a job may make. Each address family and each protocol is kernel code of its own,
 * reachable by any user and loaded as a module on first use; the network namespace hides the
 * host's interfaces and ports, not that code, and does not cover every family (AF_VSOCK reaches
 * the hypervisor on a VM). So sockets are an allow-list, as in Docker's default profile:
 * what a job needs for TCP, UDP, local IPC and reading its own interfaces, nothing else.
 *
 * A refused call fails with the errno of a kernel built without the family or protocol, so that
 * programs take the path they take there (Go's fallback from MPTCP to TCP, for one).
 */
#include <errno.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "seccomp-gen.h"

/*
 * Families: everything else gets EAFNOSUPPORT. Among the refused, with their record:
 * AF_VSOCK (not namespaced: reaches the hypervisor's host side; CVE-2021-26708, CVE-2024-50264),
 * AF_PACKET (CVE-2016-8655, CVE-2017-7308, CVE-2020-14386), AF_ALG (CVE-2019-8912), AF_TIPC
 * (CVE-2021-43267), AF_RDS (CVE-2010-3904), AF_CAN (CVE-2021-3609), AF_BLUETOOTH, AF_KEY, AF_XDP.
 */
static const uint64_t families[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK };

/* socketpair: of the families above only AF_UNIX makes pairs (the others answer EOPNOTSUPP). */
static const uint64_t pair_families[] = { AF_UNIX };

/*
 * AF_INET and AF_INET6 types: stream, datagram and raw. Raw stays to the kernel, which refuses it
 * without CAP_NET_RAW (EPERM), a capability a job never has. SOCK_SEQPACKET (only SCTP has it),
 * SOCK_DCCP, SOCK_PACKET, SOCK_RDM and unknown types → ESOCKTNOSUPPORT. The type's other bits are
 * SOCK_NONBLOCK and SOCK_CLOEXEC.
 */
static const uint64_t inet_types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_RAW };

/*
 * AF_INET and AF_INET6 protocols: the default one of the type, TCP, UDP, and ICMP for ping
 * sockets. Refused (EPROTONOSUPPORT): SCTP (CVE-2019-8956), DCCP (CVE-2017-6074), L2TP
 * (CVE-2016-10200), UDP-Lite, MPTCP, SMC (IPPROTO_SMC, Linux 6.11), and what comes next.
 */
static const uint64_t inet_protocols[] = { IPPROTO_IP, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6 };

/*
 * AF_NETLINK protocols: NETLINK_ROUTE only, which getifaddrs(), if_nameindex() and `ip` read the
 * job's own interfaces and addresses with. Refused (EPROTONOSUPPORT):
 * - NETLINK_SOCK_DIAG: the job's own sockets only, but its parsers have a record (CVE-2013-1763,
 *   local root); `ss` falls back to /proc/net/{tcp,udp,unix} without it, as netstat reads anyway;
 * - NETLINK_KOBJECT_UEVENT: the host's device events, broadcast to every network namespace the
 *   host's user namespace owns; NETLINK_AUDIT: the host's audit subsystem;
 * - NETLINK_GENERIC, NETLINK_NETFILTER (nf_tables: CVE-2022-1015, CVE-2023-32233), NETLINK_XFRM
 *   and the rest: administration that needs CAP_NET_ADMIN, which a job never has, after parsing
 *   its input.
 */
static const uint64_t netlink_protocols[] = { NETLINK_ROUTE };

static const struct scmp_arg_cmp family_inet = SCMP_A0(SCMP_CMP_EQ, AF_INET);
static const struct scmp_arg_cmp family_inet6 = SCMP_A0(SCMP_CMP_EQ, AF_INET6);
static const struct scmp_arg_cmp family_netlink = SCMP_A0(SCMP_CMP_EQ, AF_NETLINK);

static const struct arg_allow_list socket_lists[] = {
	{ .what = "socket family", .syscall = SCMP_SYS(socket), .errnum = EAFNOSUPPORT, .arg = 0, ALLOW_LIST(families) },
	{ .what = "socketpair family", .syscall = SCMP_SYS(socketpair), .errnum = EAFNOSUPPORT, .arg = 0, ALLOW_LIST(pair_families) },
	{ .what = "AF_INET type", .syscall = SCMP_SYS(socket), .errnum = ESOCKTNOSUPPORT, .arg = 1, .mask = 0xf,
	  ALLOW_LIST(inet_types), .when = &family_inet },
	{ .what = "AF_INET6 type", .syscall = SCMP_SYS(socket), .errnum = ESOCKTNOSUPPORT, .arg = 1, .mask = 0xf,
	  ALLOW_LIST(inet_types), .when = &family_inet6 },
	{ .what = "AF_INET protocol", .syscall = SCMP_SYS(socket), .errnum = EPROTONOSUPPORT, .arg = 2,
	  ALLOW_LIST(inet_protocols), .when = &family_inet },
	{ .what = "AF_INET6 protocol", .syscall = SCMP_SYS(socket), .errnum = EPROTONOSUPPORT, .arg = 2,
	  ALLOW_LIST(inet_protocols), .when = &family_inet6 },
	{ .what = "AF_NETLINK protocol", .syscall = SCMP_SYS(socket), .errnum = EPROTONOSUPPORT, .arg = 2,
	  ALLOW_LIST(netlink_protocols), .when = &family_netlink },
};

/*
 * setsockopt: the levels a socket answers are those of its own protocols, so the lists above
 * bound them (any other level is ENOPROTOOPT from the kernel). What remains is TCP_ULP, which
 * attaches more protocol code to an allowed TCP socket (the kernel TLS ULP: CVE-2023-0461, local
 * root). Refused with ENOENT, the answer of a kernel without the ULP (OpenSSL then does TLS in user
 * space). The kernel reads level and optname as ints: a deny rule compares those 32 bits only.
 */
static int refuse_tcp_ulp(scmp_filter_ctx ctx)
{
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(setsockopt), 2,
				  SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, IPPROTO_TCP),
				  SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu, TCP_ULP));
	if (rc)
		fprintf(stderr, "seccomp-gen: setsockopt(TCP_ULP): %s\n", strerror(-rc));
	return rc;
}

int add_socket_policy(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < sizeof(socket_lists) / sizeof(socket_lists[0]); i++) {
		int rc = refuse_values_outside(ctx, &socket_lists[i]);
		if (rc)
			return rc;
	}
	return refuse_tcp_ulp(ctx);
}
