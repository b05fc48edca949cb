/*
 * Forks until the kernel refuses (each child waits), then prints `forked <n>` and
 * `fork_errno <errno>` and exits, leaving its children to the sandbox's teardown.
 * A bound of its own (argv[1], default 10000) keeps it finite even without a pids limit.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long bound = argc > 1 ? atol(argv[1]) : 10000;
	long n = 0;
	int e = 0;
	for (; n < bound; n++) {
		pid_t pid = fork();
		if (pid == 0) {
			pause();
			_exit(0);
		}
		if (pid < 0) {
			e = errno;
			break;
		}
	}
	printf("forked %ld\nfork_errno %d\n", n, e);
	return 0;
}
