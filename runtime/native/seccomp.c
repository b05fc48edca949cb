#include "seccomp.h"

#include <linux/seccomp.h>
#include <sys/prctl.h>

#include "log.h"
#include "seccomp-filter.h"

int seccomp_load_filter(void)
{
	struct sock_fprog prog = {
		.len = sizeof(seccomp_filter) / sizeof(seccomp_filter[0]),
		.filter = (struct sock_filter *)seccomp_filter,
	};
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return PLOG("prctl(PR_SET_SECCOMP)"), -1;
	return 0;
}
