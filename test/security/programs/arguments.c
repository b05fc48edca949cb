/*
 * Tries system calls with argument values a job must not be able to use, and prints
 * `<probe> <errno>` for each (0: the call succeeded), like syscalls.c. Probes name the call and
 * its arguments as numbers (decimal or 0x...), so a test can try any value:
 *   socket:FAMILY:TYPE:PROTOCOL      socket(2); the socket is closed again
 *   socketpair:FAMILY:TYPE:PROTOCOL  socketpair(2)
 *   tcp_ulp:NAME                     setsockopt(TCP_ULP, NAME) on a TCP socket
 *   personality:VALUE                personality(2); the previous persona is restored
 *   prctl:OPTION:ARG2:ARG3:ARG4:ARG5 prctl(2); an argument `p` is a pointer to a zeroed buffer
 *   syscall:NR                       syscall NR with the arguments (-1, 0, 0, 0, 0, 0)
 * Arguments are passed to the raw system call as 64-bit values, upper bits included: a filter
 * must not be fooled by bits the kernel ignores.
 *
 * A probe does no harm when it succeeds where it should not (the tests pass only harmless values;
 * what it makes, it undoes), and the test fails on the printed 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_ARGS 5

static char scratch[256];

static int err(long rc) { return rc < 0 ? errno : 0; }

/* "a:b:c" → up to n numbers; `p` is the scratch buffer's address; missing ones are 0. */
static void parse_args(const char *s, unsigned long out[], int n)
{
	memset(out, 0, n * sizeof(out[0]));
	for (int i = 0; i < n && s && *s; i++) {
		out[i] = *s == 'p' ? (unsigned long)scratch : strtoul(s, NULL, 0);
		s = strchr(s, ':');
		if (s)
			s++;
	}
}

static int probe_socket(const unsigned long a[])
{
	long fd = syscall(SYS_socket, a[0], a[1] | SOCK_CLOEXEC, a[2]);
	if (fd >= 0)
		close(fd);
	return err(fd);
}

static int probe_socketpair(const unsigned long a[])
{
	int sv[2];
	long rc = syscall(SYS_socketpair, a[0], a[1] | SOCK_CLOEXEC, a[2], sv);
	if (rc == 0) {
		close(sv[0]);
		close(sv[1]);
	}
	return err(rc);
}

static int probe_tcp_ulp(const char *name)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int e = err(setsockopt(fd, IPPROTO_TCP, TCP_ULP, name, strlen(name)));
	close(fd);
	return e;
}

static int probe_personality(unsigned long value)
{
	long old = syscall(SYS_personality, 0xffffffffUL);
	long rc = syscall(SYS_personality, value);
	if (rc >= 0 && old >= 0)
		syscall(SYS_personality, (unsigned long)old);
	return err(rc);
}

static int run_probe(const char *name)
{
	const char *colon = strchr(name, ':');
	const char *arg = colon ? colon + 1 : "";
	size_t len = colon ? (size_t)(colon - name) : strlen(name);
	unsigned long a[MAX_ARGS];
	parse_args(arg, a, MAX_ARGS);
#define IS(n) (len == strlen(n) && strncmp(name, n, len) == 0)
	if (IS("socket"))
		return probe_socket(a);
	if (IS("socketpair"))
		return probe_socketpair(a);
	if (IS("tcp_ulp"))
		return probe_tcp_ulp(arg);
	if (IS("personality"))
		return probe_personality(a[0]);
	if (IS("prctl"))
		return err(syscall(SYS_prctl, a[0], a[1], a[2], a[3], a[4]));
	if (IS("syscall"))
		return err(syscall((long)a[0], -1L, 0L, 0L, 0L, 0L, 0L));
	fprintf(stderr, "unknown probe %s\n", name);
	exit(2);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	for (int i = 1; i < argc; i++) {
		errno = 0;
		int e = run_probe(argv[i]);
		printf("%s %d\n", argv[i], e);
	}
	return 0;
}
