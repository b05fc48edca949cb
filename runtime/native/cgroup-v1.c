/*
 * cgroup v1: one hierarchy per controller (memory, pids, cpuacct, cpu), as on these hybrid hosts.
 * Where cpu and cpuacct are one hierarchy (cpu,cpuacct), both paths name one directory: made,
 * joined and removed twice, harmlessly.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"

static int v1_create(const struct setup_spec *s)
{
	if (!s->cgroup_memory || !s->cgroup_pids || !s->cgroup_cpuacct || !s->cgroup_cpu) {
		LOG("cgroup v1 needs cgroup_memory, cgroup_pids, cgroup_cpuacct and cgroup_cpu");
		return -1;
	}
	TRY(cgroup_mkdir(s->cgroup_memory));
	TRY(cgroup_mkdir(s->cgroup_pids));
	TRY(cgroup_mkdir(s->cgroup_cpuacct));
	TRY(cgroup_mkdir(s->cgroup_cpu));
	/* Swap would let a job exceed its memory limit; 0 keeps its pages in RAM. */
	cgroup_write(s->cgroup_memory, "memory.swappiness", "0");
	return 0;
}

/*
 * v1 charges TCP socket buffers to a counter of their own, active only once its limit has been
 * written, and only for sockets made after that: so it is written before the init joins. Without
 * it a job holds hundreds of MiB in loopback connections outside its memory limit.
 */
static int v1_set_tcp_memory(const char *dir, uint64_t bytes)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/memory.kmem.tcp.limit_in_bytes", dir);
	if (access(path, F_OK) != 0)
		return 0; /* a kernel without kmem accounting: nothing to bound */
	return cgroup_write_u64(dir, "memory.kmem.tcp.limit_in_bytes", bytes);
}

static int v1_join_self(const struct setup_spec *s)
{
	TRY(cgroup_write(s->cgroup_memory, "cgroup.procs", "0"));
	TRY(cgroup_write(s->cgroup_pids, "cgroup.procs", "0"));
	TRY(cgroup_write(s->cgroup_cpuacct, "cgroup.procs", "0"));
	TRY(cgroup_write(s->cgroup_cpu, "cgroup.procs", "0"));
	return 0;
}

/* memory.limit_in_bytes may never exceed memory.memsw.limit_in_bytes: order the writes. */
static int v1_set_memory(const struct setup_spec *s, uint64_t current, uint64_t bytes)
{
	const char *dir = s->cgroup_memory;
	TRY(v1_set_tcp_memory(dir, bytes));
	char memsw[4096];
	snprintf(memsw, sizeof(memsw), "%s/memory.memsw.limit_in_bytes", dir);
	if (access(memsw, F_OK) != 0) /* no swap accounting on this host */
		return cgroup_write_u64(dir, "memory.limit_in_bytes", bytes);
	if (bytes > current) {
		TRY(cgroup_write_u64(dir, "memory.memsw.limit_in_bytes", bytes));
		return cgroup_write_u64(dir, "memory.limit_in_bytes", bytes);
	}
	TRY(cgroup_write_u64(dir, "memory.limit_in_bytes", bytes));
	return cgroup_write_u64(dir, "memory.memsw.limit_in_bytes", bytes);
}

static int v1_set_pids(const struct setup_spec *s, uint64_t pids)
{
	return cgroup_write_u64(s->cgroup_pids, "pids.max", pids);
}

/* The period first: the kernel checks the quota against the period in force when it is written. */
static int v1_set_cpu(const struct setup_spec *s, uint64_t quota_us, uint64_t period_us)
{
	TRY(cgroup_write_u64(s->cgroup_cpu, "cpu.cfs_period_us", period_us));
	return cgroup_write_u64(s->cgroup_cpu, "cpu.cfs_quota_us", quota_us);
}

static int v1_cpu_us(const struct setup_spec *s, uint64_t *out)
{
	uint64_t ns;
	TRY(cgroup_read_u64(s->cgroup_cpuacct, "cpuacct.usage", &ns));
	*out = ns / 1000;
	return 0;
}

static int v1_usage(const struct setup_spec *s, struct cgroup_usage *u)
{
	memset(u, 0, sizeof(*u));
	TRY(v1_cpu_us(s, &u->cpu_us));
	TRY(cgroup_read_u64(s->cgroup_memory, "memory.max_usage_in_bytes", &u->memory_peak_bytes));
	/* `oom_kill` in memory.oom_control exists since Linux 4.13 (FACTS.md gotcha 10). */
	TRY(cgroup_read_keyed(s->cgroup_memory, "memory.oom_control", "oom_kill", &u->oom_kills));
	return 0;
}

static int v1_destroy(const struct setup_spec *s)
{
	/* Every one is tried, whatever the others did; cpu may be cpuacct's directory (gone: ENOENT). */
	int rc = cgroup_rmdir(s->cgroup_memory);
	rc |= cgroup_rmdir(s->cgroup_pids);
	rc |= cgroup_rmdir(s->cgroup_cpuacct);
	rc |= cgroup_rmdir(s->cgroup_cpu);
	return rc;
}

const struct cgroup_driver cgroup_v1_driver = {
	.create = v1_create,
	.join_self = v1_join_self,
	.set_memory = v1_set_memory,
	.set_pids = v1_set_pids,
	.set_cpu = v1_set_cpu,
	.cpu_us = v1_cpu_us,
	.usage = v1_usage,
	.destroy = v1_destroy,
};
