#pragma once
/*
 * A minimal rtnetlink client (no libnl): build one request in a fixed buffer, send it, read the
 * kernel's acknowledgement. Enough for the few link, address and route changes a sandbox's network
 * needs (net-veth.c), with no allocation, so it may run in a signal handler too.
 */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stddef.h>

struct nl_request {
	struct nlmsghdr *h;
	char buf[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
};

/* Starts a request of `type` with `flags` (NLM_F_REQUEST | NLM_F_ACK added) and a zeroed header of `hdrlen` bytes; returns it. */
void *nl_begin(struct nl_request *r, int type, int flags, size_t hdrlen);
/* Appends an attribute; returns it, or NULL when the buffer is full (nl_send then refuses the request). */
struct rtattr *nl_attr(struct nl_request *r, int type, const void *data, size_t len);
struct rtattr *nl_attr_str(struct nl_request *r, int type, const char *s);
struct rtattr *nl_attr_u32(struct nl_request *r, int type, unsigned v);
/* Opens a nested attribute; nl_nest_end closes it (its length is everything appended since). */
struct rtattr *nl_nest(struct nl_request *r, int type);
void nl_nest_end(struct nl_request *r, struct rtattr *nest);
/* Sends the request on `fd` and waits for its ack: 0, or -1 with errno the kernel's answer. */
int nl_send(int fd, struct nl_request *r);
/* A NETLINK_ROUTE socket in the caller's current network namespace. */
int nl_open(void);
