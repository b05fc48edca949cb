/*
 * Allocates and touches <MiB> mebibytes, 1 MiB at a time, then prints `survived <MiB>`.
 * Under a smaller memory limit it must be OOM-killed before it gets there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	long mib = argc > 1 ? atol(argv[1]) : 512;
	for (long i = 0; i < mib; i++) {
		char *p = malloc(1 << 20);
		if (!p) {
			printf("malloc failed at %ld\n", i);
			return 3;
		}
		memset(p, (int)i | 1, 1 << 20); /* touch every page: no overcommit trick */
	}
	printf("survived %ld\n", mib);
	return 0;
}
