#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"

static int open_in(const char *dir, const char *file, int flags)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		PLOG("open(%s)", path);
	return fd;
}

int cgroup_write(const char *dir, const char *file, const char *value)
{
	int fd = open_in(dir, file, O_WRONLY | O_TRUNC); /* as a shell's `echo v > file` */
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, value, strlen(value));
	int saved = errno;
	close(fd);
	if (n < 0) {
		errno = saved;
		PLOG("write(%s/%s, %s)", dir, file, value);
		return -1;
	}
	return 0;
}

int cgroup_write_u64(const char *dir, const char *file, uint64_t value)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)value);
	return cgroup_write(dir, file, buf);
}

static ssize_t read_all(const char *dir, const char *file, char *buf, size_t cap)
{
	int fd = open_in(dir, file, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, cap - 1);
	if (n < 0)
		PLOG("read(%s/%s)", dir, file);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return n;
}

int cgroup_read_u64(const char *dir, const char *file, uint64_t *out)
{
	char buf[64];
	TRY(read_all(dir, file, buf, sizeof(buf)));
	*out = strtoull(buf, NULL, 10);
	return 0;
}

int cgroup_read_keyed(const char *dir, const char *file, const char *key, uint64_t *out)
{
	char buf[4096];
	TRY(read_all(dir, file, buf, sizeof(buf)));
	size_t klen = strlen(key);
	*out = 0;
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			*out = strtoull(line + klen + 1, NULL, 10);
			return 0;
		}
	}
	return 0;
}

int cgroup_mkdir(const char *dir)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		PLOG("mkdir(%s)", dir);
		return -1;
	}
	return 0;
}

/* A cgroup whose last task just died can stay busy for a moment (v1 reparenting): retry briefly. */
int cgroup_rmdir(const char *dir)
{
	for (int i = 0; i < 200; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return PLOG("rmdir(%s)", dir), -1;
}

static int none_create(const struct setup_spec *s) { (void)s; return 0; }
static int none_join(const struct setup_spec *s) { (void)s; return 0; }
static int none_memory(const struct setup_spec *s, uint64_t c, uint64_t m) { (void)s; (void)c; (void)m; return 0; }
static int none_pids(const struct setup_spec *s, uint64_t p) { (void)s; (void)p; return 0; }
static int none_set_cpu(const struct setup_spec *s, uint64_t q, uint64_t p) { (void)s; (void)q; (void)p; return 0; }
static int none_cpu(const struct setup_spec *s, uint64_t *out) { (void)s; *out = 0; return 0; }
static int none_usage(const struct setup_spec *s, struct cgroup_usage *u) { (void)s; memset(u, 0, sizeof(*u)); return 0; }
static int none_destroy(const struct setup_spec *s) { (void)s; return 0; }

/* No cgroups: only for tests of the namespace layer on hosts without cgroup access. */
const struct cgroup_driver cgroup_none_driver = {
	.create = none_create,
	.join_self = none_join,
	.set_memory = none_memory,
	.set_pids = none_pids,
	.set_cpu = none_set_cpu,
	.cpu_us = none_cpu,
	.usage = none_usage,
	.destroy = none_destroy,
};

int cgroup_apply(const struct setup_spec *s, struct cgroup_limits *current, const struct cgroup_limits *want)
{
	const struct cgroup_driver *d = cgroup_driver_for(s->cgroup);
	if (want->memory_bytes != current->memory_bytes) {
		TRY(d->set_memory(s, current->memory_bytes, want->memory_bytes));
		current->memory_bytes = want->memory_bytes;
	}
	if (want->pids != current->pids) {
		TRY(d->set_pids(s, want->pids));
		current->pids = want->pids;
	}
	if (want->cpu_quota_us != current->cpu_quota_us || want->cpu_period_us != current->cpu_period_us) {
		TRY(d->set_cpu(s, want->cpu_quota_us, want->cpu_period_us));
		current->cpu_quota_us = want->cpu_quota_us;
		current->cpu_period_us = want->cpu_period_us;
	}
	return 0;
}

const struct cgroup_driver *cgroup_driver_for(enum cgroup_version v)
{
	switch (v) {
	case CGROUP_V1: return &cgroup_v1_driver;
	case CGROUP_V2: return &cgroup_v2_driver;
	case CGROUP_NONE: return &cgroup_none_driver;
	}
	return NULL;
}
