#include "netlink.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

/* Set when an attribute did not fit: the request is incomplete and must not be sent. */
#define NL_OVERFLOW 0x8000

void *nl_begin(struct nl_request *r, int type, int flags, size_t hdrlen)
{
	memset(r->buf, 0, sizeof(r->buf));
	r->h = (struct nlmsghdr *)r->buf;
	r->h->nlmsg_len = NLMSG_LENGTH(hdrlen);
	r->h->nlmsg_type = type;
	r->h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	return NLMSG_DATA(r->h);
}

struct rtattr *nl_attr(struct nl_request *r, int type, const void *data, size_t len)
{
	size_t at = NLMSG_ALIGN(r->h->nlmsg_len);
	if (at + RTA_SPACE(len) > sizeof(r->buf)) {
		r->h->nlmsg_flags |= NL_OVERFLOW;
		return NULL;
	}
	struct rtattr *a = (struct rtattr *)(r->buf + at);
	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->h->nlmsg_len = at + RTA_ALIGN(a->rta_len);
	return a;
}

struct rtattr *nl_attr_str(struct nl_request *r, int type, const char *s)
{
	return nl_attr(r, type, s, strlen(s) + 1);
}

struct rtattr *nl_attr_u32(struct nl_request *r, int type, unsigned v)
{
	return nl_attr(r, type, &v, sizeof(v));
}

struct rtattr *nl_nest(struct nl_request *r, int type)
{
	return nl_attr(r, type | NLA_F_NESTED, NULL, 0);
}

void nl_nest_end(struct nl_request *r, struct rtattr *nest)
{
	if (nest)
		nest->rta_len = (char *)r->buf + r->h->nlmsg_len - (char *)nest;
}

int nl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		PLOG("socket(AF_NETLINK)");
	return fd;
}

int nl_send(int fd, struct nl_request *r)
{
	if (r->h->nlmsg_flags & NL_OVERFLOW)
		return errno = EMSGSIZE, -1;
	static unsigned seq;
	r->h->nlmsg_seq = ++seq;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	if (sendto(fd, r->h, r->h->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -1;
	char ack[4096] __attribute__((aligned(NLMSG_ALIGNTO)));
	for (;;) {
		ssize_t n = recv(fd, ack, sizeof(ack), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		for (struct nlmsghdr *h = (struct nlmsghdr *)ack; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			return err ? (errno = -err, -1) : 0;
		}
	}
}
