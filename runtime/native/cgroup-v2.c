/*
 * cgroup v2: one unified dir per sandbox. Its parent must have +memory +pids +cpu in
 * cgroup.subtree_control (the TypeScript side enables them once and names what is missing).
 */
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "log.h"

static int v2_create(const struct setup_spec *s)
{
	if (!s->cgroup_unified) {
		LOG("cgroup v2 needs cgroup_unified");
		return -1;
	}
	TRY(cgroup_mkdir(s->cgroup_unified));
	TRY(cgroup_write(s->cgroup_unified, "memory.swap.max", "0"));
	return 0;
}

static int v2_join_self(const struct setup_spec *s)
{
	return cgroup_write(s->cgroup_unified, "cgroup.procs", "0");
}

static int v2_set_memory(const struct setup_spec *s, uint64_t current, uint64_t bytes)
{
	(void)current;
	return cgroup_write_u64(s->cgroup_unified, "memory.max", bytes);
}

static int v2_set_pids(const struct setup_spec *s, uint64_t pids)
{
	return cgroup_write_u64(s->cgroup_unified, "pids.max", pids);
}

/* cpu.max is "$QUOTA $PERIOD" in one write. */
static int v2_set_cpu(const struct setup_spec *s, uint64_t quota_us, uint64_t period_us)
{
	char value[64];
	snprintf(value, sizeof(value), "%llu %llu", (unsigned long long)quota_us, (unsigned long long)period_us);
	return cgroup_write(s->cgroup_unified, "cpu.max", value);
}

static int v2_cpu_us(const struct setup_spec *s, uint64_t *out)
{
	return cgroup_read_keyed(s->cgroup_unified, "cpu.stat", "usage_usec", out);
}

static int v2_usage(const struct setup_spec *s, struct cgroup_usage *u)
{
	memset(u, 0, sizeof(*u));
	TRY(v2_cpu_us(s, &u->cpu_us));
	/* memory.peak exists since Linux 5.19. */
	TRY(cgroup_read_u64(s->cgroup_unified, "memory.peak", &u->memory_peak_bytes));
	TRY(cgroup_read_keyed(s->cgroup_unified, "memory.events", "oom_kill", &u->oom_kills));
	return 0;
}

static int v2_destroy(const struct setup_spec *s)
{
	/* cgroup.kill (Linux 5.14) also reaches processes that are no longer in our pid namespace. */
	cgroup_write(s->cgroup_unified, "cgroup.kill", "1");
	return cgroup_rmdir(s->cgroup_unified);
}

const struct cgroup_driver cgroup_v2_driver = {
	.create = v2_create,
	.join_self = v2_join_self,
	.set_memory = v2_set_memory,
	.set_pids = v2_set_pids,
	.set_cpu = v2_set_cpu,
	.cpu_us = v2_cpu_us,
	.usage = v2_usage,
	.destroy = v2_destroy,
};
