/*
 * The sandbox's cgroups: one driver per cgroup version behind one interface (crun's backends).
 * The supervisor creates and destroys; the sandbox's first process joins itself before it
 * allocates anything (cgroup v1 does not move memory already charged elsewhere).
 */
#pragma once
#include <stdint.h>

#include "spec.h"

struct cgroup_usage {
	uint64_t cpu_us;            /* user+system CPU of every process that ran in the cgroup */
	uint64_t memory_peak_bytes; /* high-water mark of the cgroup's memory */
	uint64_t oom_kills;         /* processes the kernel killed for exceeding the memory limit */
};

struct cgroup_driver {
	int (*create)(const struct setup_spec *s);
	int (*join_self)(const struct setup_spec *s);
	/* `current` is the limit in force (UINT64_MAX for a new cgroup): v1 needs it to order writes. */
	int (*set_memory)(const struct setup_spec *s, uint64_t current, uint64_t bytes);
	int (*set_pids)(const struct setup_spec *s, uint64_t pids);
	/* CFS bandwidth: at most quota_us of CPU time per period_us, all the cgroup's processes together. */
	int (*set_cpu)(const struct setup_spec *s, uint64_t quota_us, uint64_t period_us);
	int (*cpu_us)(const struct setup_spec *s, uint64_t *out);
	int (*usage)(const struct setup_spec *s, struct cgroup_usage *u);
	/* 0 once every directory of the sandbox is gone; -1 when one is left (logged). */
	int (*destroy)(const struct setup_spec *s);
};

extern const struct cgroup_driver cgroup_v1_driver;
extern const struct cgroup_driver cgroup_v2_driver;
extern const struct cgroup_driver cgroup_none_driver;

const struct cgroup_driver *cgroup_driver_for(enum cgroup_version v);

/* The limits in force, so that a run whose limits equal the parked ones writes nothing. */
struct cgroup_limits {
	uint64_t memory_bytes, pids, cpu_quota_us, cpu_period_us;
};
/* A new cgroup's: no limit in force, so the first apply writes each. */
#define CGROUP_LIMITS_NONE { UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX }
int cgroup_apply(const struct setup_spec *s, struct cgroup_limits *current, const struct cgroup_limits *want);

/* Helpers shared by the drivers (cgroup-file.c). */
int cgroup_write(const char *dir, const char *file, const char *value);
int cgroup_write_u64(const char *dir, const char *file, uint64_t value);
int cgroup_read_u64(const char *dir, const char *file, uint64_t *out);
/* Reads the number after `key ` in a flat-keyed file such as memory.events; 0 if absent. */
int cgroup_read_keyed(const char *dir, const char *file, const char *key, uint64_t *out);
int cgroup_mkdir(const char *dir);
int cgroup_rmdir(const char *dir);
