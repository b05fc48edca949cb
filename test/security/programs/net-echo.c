/*
 * Talks to echo servers from inside a sandbox: for each argument `tcp:ADDR:PORT` or
 * `udp:ADDR:PORT`, sends a line and waits (2 s at most) for the same bytes back; prints
 * `<argument> 0` when they came back, else `<argument> <errno>` (ETIMEDOUT when nothing came).
 * Used by test/security/network-bridge.test.ts.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int parse(const char *spec, int *type, struct sockaddr_in *sa)
{
	char host[64];
	if (strncmp(spec, "tcp:", 4) == 0)
		*type = SOCK_STREAM;
	else if (strncmp(spec, "udp:", 4) == 0)
		*type = SOCK_DGRAM;
	else
		return -1;
	const char *addr = spec + 4, *colon = strrchr(addr, ':');
	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		return -1;
	memcpy(host, addr, colon - addr);
	host[colon - addr] = '\0';
	*sa = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(atoi(colon + 1)) };
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int echo(const char *spec)
{
	int type;
	struct sockaddr_in sa;
	if (parse(spec, &type, &sa) < 0)
		return EINVAL;
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	struct timeval tv = { 2, 0 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char line[128], back[128];
	int n = snprintf(line, sizeof(line), "echo %s %d\n", spec, getpid());
	int e = 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || send(fd, line, n, 0) != n) {
		e = errno;
	} else {
		ssize_t got = 0;
		while (got < n) {
			ssize_t r = recv(fd, back + got, sizeof(back) - got, 0);
			if (r <= 0) {
				e = r == 0 ? ECONNRESET : errno == EAGAIN ? ETIMEDOUT : errno;
				break;
			}
			got += r;
		}
		if (!e && (got != n || memcmp(line, back, n) != 0))
			e = EBADMSG;
	}
	close(fd);
	return e;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		printf("%s %d\n", argv[i], echo(argv[i]));
	return 0;
}
