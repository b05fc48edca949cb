/*
 * Resource exhaustion probes; each prints `<what> <errno>` lines (and counts).
 *   fill disk <path>    write 64 KiB blocks until write fails: `written <bytes>`, `disk <errno>`
 *   fill fsize <path>   the same with SIGXFSZ ignored, so RLIMIT_FSIZE shows as EFBIG: `fsize <errno>`
 *   fill fds            open /dev/null until it fails: `fds <count>`, `fds_errno <errno>`
 *   fill raise_nofile   try to raise RLIMIT_NOFILE's hard limit: `raise_nofile <errno>`
 *   fill raise_fsize    try to raise RLIMIT_FSIZE's hard limit: `raise_fsize <errno>`
 *   fill inotify        take inotify instances until refused (a per-uid quota): `inotify <count>`,
 *                       `inotify_errno <errno>`, then hold them for up to 30 s
 * Every loop has its own bound (1 GiB, 1M fds) so that it ends even if a limit is missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <unistd.h>

static int write_until_error(const char *path, long long *written)
{
	static char block[65536];
	memset(block, 'x', sizeof(block));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno;
	*written = 0;
	while (*written < (1LL << 30)) {
		ssize_t n = write(fd, block, sizeof(block));
		if (n < 0) {
			int e = errno;
			close(fd);
			return e;
		}
		*written += n;
	}
	close(fd);
	return 0;
}

static int raise_limit(int resource)
{
	struct rlimit r;
	if (getrlimit(resource, &r) < 0)
		return errno;
	if (r.rlim_max == RLIM_INFINITY)
		return 0;
	r.rlim_max += 1024;
	r.rlim_cur = r.rlim_max;
	return setrlimit(resource, &r) < 0 ? errno : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *what = argc > 1 ? argv[1] : "";
	long long written = 0;
	if (strcmp(what, "disk") == 0 && argc > 2) {
		int e = write_until_error(argv[2], &written);
		printf("written %lld\ndisk %d\n", written, e);
	} else if (strcmp(what, "fsize") == 0 && argc > 2) {
		signal(SIGXFSZ, SIG_IGN);
		int e = write_until_error(argv[2], &written);
		printf("written %lld\nfsize %d\n", written, e);
	} else if (strcmp(what, "fds") == 0) {
		long n = 0;
		int e = 0;
		for (; n < 1000000; n++) {
			if (open("/dev/null", O_RDONLY) < 0) {
				e = errno;
				break;
			}
		}
		printf("fds %ld\nfds_errno %d\n", n, e);
	} else if (strcmp(what, "inotify") == 0) {
		long n = 0;
		int e = 0;
		for (; n < 100000; n++) {
			if (inotify_init1(IN_CLOEXEC) < 0) {
				e = errno;
				break;
			}
		}
		printf("inotify %ld\ninotify_errno %d\n", n, e);
		sleep(30);
	} else if (strcmp(what, "raise_nofile") == 0) {
		printf("raise_nofile %d\n", raise_limit(RLIMIT_NOFILE));
	} else if (strcmp(what, "raise_fsize") == 0) {
		printf("raise_fsize %d\n", raise_limit(RLIMIT_FSIZE));
	} else {
		fprintf(stderr, "usage: fill disk|fsize PATH | fds | raise_nofile | raise_fsize\n");
		return 2;
	}
	return 0;
}
