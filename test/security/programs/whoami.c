/*
 * Prints the process's identity as `ruid euid suid rgid egid sgid`, then `setuid0 <errno>`.
 * Installed setuid/setgid root in a hostile image: in a sandbox it must still be the job's user.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	getresuid(&r, &e, &s);
	getresgid(&rg, &eg, &sg);
	printf("ids %u %u %u %u %u %u\n", r, e, s, rg, eg, sg);
	printf("setuid0 %d\n", setuid(0) < 0 ? errno : 0);
	return 0;
}
