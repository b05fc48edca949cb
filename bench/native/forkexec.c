/*
 * The floor: fork + execve + waitpid of a program, no sandbox, timed in C.
 * Usage: forkexec N PROGRAM [ARG...]   prints one duration in microseconds per line.
 * The program's own output goes to /dev/null, so that only the durations reach stdout.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3)
		return fprintf(stderr, "usage: forkexec N PROGRAM [ARG...]\n"), 2;
	int n = atoi(argv[1]);
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	for (int i = 0; i < n; i++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		pid_t pid = fork();
		if (pid == 0) {
			dup2(devnull, STDOUT_FILENO);
			execv(argv[2], argv + 2);
			_exit(127);
		}
		int st;
		waitpid(pid, &st, 0);
		clock_gettime(CLOCK_MONOTONIC, &b);
		printf("%ld\n", (b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000);
	}
	return 0;
}
