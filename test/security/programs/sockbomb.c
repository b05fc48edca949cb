/*
 * Tries to hold more kernel memory in socket buffers than the job's memory limit:
 *   sockbomb unix <MiB>   AF_UNIX stream socketpairs, each filled until it would block
 *   sockbomb tcp <MiB>    loopback TCP connections (inside the job's own network namespace)
 *   sockbomb pipe <MiB>   pipes grown to their largest size and filled
 * Stops at <MiB> mebibytes buffered in all (the attack's own bound) or when out of fds, prints
 * `buffered <bytes>` and `channels <n>`, and exits; the buffers die with the sandbox.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char chunk[65536];

/* Writes into fd until it would block (or the bound); returns bytes written. */
static long long fill(int fd, long long room)
{
	long long total = 0;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (total < room) {
		size_t n = room - total < (long long)sizeof(chunk) ? (size_t)(room - total) : sizeof(chunk);
		ssize_t w = write(fd, chunk, n);
		if (w <= 0)
			break;
		total += w;
	}
	return total;
}

static int unix_pair(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		return -1;
	int big = 64 << 20; /* the kernel caps it at wmem_max/rmem_max */
	setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	return 0;
}

static int tcp_pair(int listener, struct sockaddr_in *addr, int fds[2])
{
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0)
		return -1;
	int big = 64 << 20;
	setsockopt(c, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (connect(c, (struct sockaddr *)addr, sizeof(*addr)) < 0) {
		close(c);
		return -1;
	}
	int a = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	if (a < 0) {
		close(c);
		return -1;
	}
	setsockopt(a, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	fds[0] = c;
	fds[1] = a;
	return 0;
}

static int pipe_pair(int fds[2])
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20); /* /proc/sys/fs/pipe-max-size for an unprivileged user */
	fds[0] = p[1];
	fds[1] = p[0];
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 3)
		return fprintf(stderr, "usage: sockbomb unix|tcp|pipe MiB\n"), 2;
	const char *mode = argv[1];
	long long cap = atoll(argv[2]) << 20, buffered = 0;
	memset(chunk, 'x', sizeof(chunk));
	int listener = -1;
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (strcmp(mode, "tcp") == 0) {
		socklen_t len = sizeof(addr);
		listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(listener, 64) < 0 ||
		    getsockname(listener, (struct sockaddr *)&addr, &len) < 0)
			return perror("listen"), 3;
	}
	long channels = 0;
	int e = 0;
	while (buffered < cap) {
		int fds[2];
		int rc = strcmp(mode, "unix") == 0 ? unix_pair(fds) : strcmp(mode, "tcp") == 0 ? tcp_pair(listener, &addr, fds) : pipe_pair(fds);
		if (rc < 0) {
			e = errno;
			break;
		}
		long long got = fill(fds[0], cap - buffered);
		if (strcmp(mode, "tcp") == 0) /* the sender's queue too: the receiver never reads */
			got += fill(fds[0], cap - buffered - got);
		buffered += got;
		channels++;
		if (got == 0)
			break;
	}
	printf("buffered %lld\nchannels %ld\nstop_errno %d\n", buffered, channels, e);
	return 0;
}
