#include "net-veth.h"

#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "netlink.h"

/* The sandbox's end of the pair, as every image expects its first interface to be called. */
#define SANDBOX_IFNAME "eth0"
#ifndef IN6_ADDR_GEN_MODE_NONE
#define IN6_ADDR_GEN_MODE_NONE 1
#endif

/*
 * The sandbox's MAC is made of its address (02:00 + the four bytes, locally administered), as
 * Docker did: an address handed to a new sandbox soon after the last one's ended does not meet a
 * stale entry in the host's neighbour cache.
 */
static void mac_of(const struct in_addr *a, unsigned char mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x00;
	memcpy(mac + 2, &a->s_addr, 4);
}

static int create_pair(int nl, const struct setup_spec *s, unsigned bridge, int netns)
{
	struct nl_request r;
	struct ifinfomsg *ifi = nl_begin(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	nl_attr_str(&r, IFLA_IFNAME, s->net_veth);
	nl_attr_u32(&r, IFLA_MASTER, bridge);
	struct rtattr *info = nl_nest(&r, IFLA_LINKINFO);
	nl_attr_str(&r, IFLA_INFO_KIND, "veth");
	struct rtattr *data = nl_nest(&r, IFLA_INFO_DATA);
	struct ifinfomsg peer_ifi = { .ifi_family = AF_UNSPEC };
	struct rtattr *peer = nl_attr(&r, VETH_INFO_PEER, &peer_ifi, sizeof(peer_ifi));
	unsigned char mac[6];
	mac_of(&s->net_address, mac);
	nl_attr_str(&r, IFLA_IFNAME, SANDBOX_IFNAME);
	nl_attr_u32(&r, IFLA_NET_NS_FD, netns);
	nl_attr(&r, IFLA_ADDRESS, mac, sizeof(mac));
	nl_nest_end(&r, peer);
	nl_nest_end(&r, data);
	nl_nest_end(&r, info);
	if (nl_send(nl, &r) < 0)
		return PLOG("netlink: create veth %s in bridge %s", s->net_veth, s->net_bridge), -1;
	return 0;
}

/* `bridge link set dev X isolated on`: an isolated port forwards only to non-isolated ones (the bridge itself). */
static int isolate_port(int nl, unsigned veth)
{
	struct nl_request r;
	struct ifinfomsg *ifi = nl_begin(&r, RTM_SETLINK, 0, sizeof(*ifi));
	ifi->ifi_family = AF_BRIDGE;
	ifi->ifi_index = veth;
	struct rtattr *prot = nl_nest(&r, IFLA_PROTINFO);
	unsigned char on = 1;
	nl_attr(&r, IFLA_BRPORT_ISOLATED, &on, sizeof(on));
	nl_nest_end(&r, prot);
	if (nl_send(nl, &r) < 0)
		return PLOG("netlink: isolate bridge port %u", veth), -1;
	return 0;
}

static int link_up(int nl, unsigned index, const char *name)
{
	struct nl_request r;
	struct ifinfomsg *ifi = nl_begin(&r, RTM_NEWLINK, 0, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	ifi->ifi_flags = ifi->ifi_change = IFF_UP;
	if (nl_send(nl, &r) < 0)
		return PLOG("netlink: set %s up", name), -1;
	return 0;
}

/* No IPv6 address, not even a link-local one: the network is IPv4 only (README, "Network"). */
static int no_ipv6_address(int nl, unsigned index)
{
	struct nl_request r;
	struct ifinfomsg *ifi = nl_begin(&r, RTM_NEWLINK, 0, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	struct rtattr *spec = nl_nest(&r, IFLA_AF_SPEC);
	struct rtattr *inet6 = nl_nest(&r, AF_INET6);
	unsigned char mode = IN6_ADDR_GEN_MODE_NONE;
	nl_attr(&r, IFLA_INET6_ADDR_GEN_MODE, &mode, sizeof(mode));
	nl_nest_end(&r, inet6);
	nl_nest_end(&r, spec);
	if (nl_send(nl, &r) < 0 && errno != EAFNOSUPPORT && errno != EOPNOTSUPP) /* a kernel without IPv6 */
		return PLOG("netlink: no IPv6 address on " SANDBOX_IFNAME), -1;
	return 0;
}

static int add_address(int nl, const struct setup_spec *s, unsigned index)
{
	struct nl_request r;
	struct ifaddrmsg *ifa = nl_begin(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = s->net_prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = index;
	nl_attr(&r, IFA_LOCAL, &s->net_address, sizeof(s->net_address));
	nl_attr(&r, IFA_ADDRESS, &s->net_address, sizeof(s->net_address));
	if (nl_send(nl, &r) < 0)
		return PLOG("netlink: address on " SANDBOX_IFNAME), -1;
	return 0;
}

static int add_default_route(int nl, const struct setup_spec *s, unsigned index)
{
	struct nl_request r;
	struct rtmsg *rt = nl_begin(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(*rt));
	rt->rtm_family = AF_INET;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	nl_attr(&r, RTA_GATEWAY, &s->net_gateway, sizeof(s->net_gateway));
	nl_attr_u32(&r, RTA_OIF, index);
	if (nl_send(nl, &r) < 0)
		return PLOG("netlink: default route of the sandbox"), -1;
	return 0;
}

/*
 * A netlink socket and eth0's index inside the sandbox's network namespace: a socket belongs to the
 * namespace it was made in, so the supervisor enters it only for that, and goes back at once.
 */
static int enter_for_socket(int netns, int *nl, unsigned *index)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return PLOG("open(/proc/self/ns/net)"), -1;
	int rc = -1;
	if (setns(netns, CLONE_NEWNET) < 0) {
		PLOG("setns(sandbox's network namespace)");
		close(self);
		return -1;
	}
	*nl = nl_open();
	if (*nl >= 0 && !(*index = if_nametoindex(SANDBOX_IFNAME)))
		PLOG("if_nametoindex(" SANDBOX_IFNAME ") in the sandbox");
	else if (*nl >= 0)
		rc = 0;
	if (setns(self, CLONE_NEWNET) < 0) {
		PLOG("setns(back to the host's network namespace)");
		rc = -1;
	}
	close(self);
	return rc;
}

static int configure_inside(int netns, const struct setup_spec *s)
{
	int nl = -1;
	unsigned index = 0;
	int rc = enter_for_socket(netns, &nl, &index);
	if (rc == 0)
		rc = no_ipv6_address(nl, index) < 0 || add_address(nl, s, index) < 0 || link_up(nl, index, SANDBOX_IFNAME) < 0 ||
				     add_default_route(nl, s, index) < 0
			     ? -1
			     : 0;
	if (nl >= 0)
		close(nl);
	return rc;
}

static int plug_host_end(int nl, const struct setup_spec *s, int netns)
{
	unsigned bridge = if_nametoindex(s->net_bridge);
	if (!bridge)
		return PLOG("if_nametoindex(bridge %s)", s->net_bridge), -1;
	TRY(create_pair(nl, s, bridge, netns));
	unsigned veth = if_nametoindex(s->net_veth);
	if (!veth)
		return PLOG("if_nametoindex(%s)", s->net_veth), -1;
	TRY(isolate_port(nl, veth));
	return link_up(nl, veth, s->net_veth);
}

int net_veth_attach(const struct setup_spec *s, pid_t init)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", init);
	int netns = open(path, O_RDONLY | O_CLOEXEC);
	if (netns < 0)
		return PLOG("open(%s)", path), -1;
	int nl = nl_open();
	int rc = nl < 0 || plug_host_end(nl, s, netns) < 0 || configure_inside(netns, s) < 0 ? -1 : 0;
	if (nl >= 0)
		close(nl);
	close(netns);
	return rc;
}

void net_veth_remove(const struct setup_spec *s)
{
	int nl = nl_open();
	if (nl < 0)
		return;
	struct nl_request r;
	struct ifinfomsg *ifi = nl_begin(&r, RTM_DELLINK, 0, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	nl_attr_str(&r, IFLA_IFNAME, s->net_veth);
	if (nl_send(nl, &r) < 0 && errno != ENODEV)
		PLOG("netlink: delete veth %s", s->net_veth);
	close(nl);
}
