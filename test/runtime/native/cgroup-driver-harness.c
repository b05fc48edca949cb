/*
 * Drives one cgroup driver of the launcher (runtime/native/cgroup-*.c) against a directory, so
 * its file protocol can be checked on hosts that cannot run it (a v1 host for the v2 driver).
 * Usage: cgroup-driver-harness v1|v2 DIR   — create, set limits, read usage, destroy; prints usage.
 */
#include <stdio.h>
#include <string.h>

#include "cgroup.h"

int main(int argc, char **argv)
{
	if (argc != 3)
		return fprintf(stderr, "usage: cgroup-driver-harness v1|v2 DIR\n"), 2;
	struct setup_spec s = { 0 };
	char mem[4096], pids[4096], cpuacct[4096], cpu[4096];
	if (strcmp(argv[1], "v2") == 0) {
		s.cgroup = CGROUP_V2;
		s.cgroup_unified = argv[2];
	} else {
		s.cgroup = CGROUP_V1;
		snprintf(mem, sizeof(mem), "%s/memory", argv[2]);
		snprintf(pids, sizeof(pids), "%s/pids", argv[2]);
		snprintf(cpuacct, sizeof(cpuacct), "%s/cpuacct", argv[2]);
		snprintf(cpu, sizeof(cpu), "%s/cpu", argv[2]);
		s.cgroup_memory = mem;
		s.cgroup_pids = pids;
		s.cgroup_cpuacct = cpuacct;
		s.cgroup_cpu = cpu;
	}
	const struct cgroup_driver *d = cgroup_driver_for(s.cgroup);
	struct cgroup_limits current = CGROUP_LIMITS_NONE;
	struct cgroup_limits parked = { .memory_bytes = 1048576, .pids = 65, .cpu_quota_us = 100000, .cpu_period_us = 100000 };
	struct cgroup_limits run = { .memory_bytes = 2097152, .pids = 65, .cpu_quota_us = 50000, .cpu_period_us = 100000 };
	if (d->create(&s) < 0 || cgroup_apply(&s, &current, &parked) < 0)
		return 1;
	/* A second apply with the same limits must write nothing (checked by the test via mtimes). */
	if (cgroup_apply(&s, &current, &parked) < 0 || cgroup_apply(&s, &current, &run) < 0)
		return 1;
	struct cgroup_usage u;
	if (d->usage(&s, &u) < 0)
		return 1;
	printf("cpu_us=%llu memory_peak_bytes=%llu oom_kills=%llu\n", (unsigned long long)u.cpu_us,
	       (unsigned long long)u.memory_peak_bytes, (unsigned long long)u.oom_kills);
	d->destroy(&s);
	return 0;
}
