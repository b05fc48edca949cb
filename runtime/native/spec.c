#include "spec.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Largest message accepted: bounds what a confused or hostile writer can make us allocate. */
#define MAX_MESSAGE (256u << 20)

static int grow(struct message *m, size_t need)
{
	if (m->len + need <= m->cap)
		return 0;
	size_t cap = m->cap ? m->cap : 4096;
	while (cap < m->len + need)
		cap *= 2;
	if (cap > MAX_MESSAGE) {
		LOG("message larger than %u bytes", MAX_MESSAGE);
		return -1;
	}
	char *b = realloc(m->buf, cap);
	if (!b) {
		PLOG("realloc(%zu)", cap);
		return -1;
	}
	m->buf = b;
	m->cap = cap;
	return 0;
}

/* Reads exactly n bytes into m; returns bytes read (short only at EOF) or -1. */
static ssize_t read_n(struct reader *in, struct message *m, size_t n)
{
	TRY(grow(m, n + 1));
	size_t got = 0;
	while (got < n) {
		if (in->start < in->end) {
			size_t take = in->end - in->start < n - got ? in->end - in->start : n - got;
			memcpy(m->buf + m->len, in->buf + in->start, take);
			in->start += take;
			m->len += take;
			got += take;
			continue;
		}
		ssize_t r = read(in->fd, in->buf, sizeof(in->buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			PLOG("read(control)");
			return -1;
		}
		if (r == 0)
			break;
		in->start = 0;
		in->end = r;
	}
	m->buf[m->len] = '\0';
	return got;
}

static int parse_file_header(const char *v, unsigned *mode, size_t *size, const char **path)
{
	char *end;
	*mode = strtoul(v, &end, 8);
	if (*end != ':')
		return -1;
	*size = strtoull(end + 1, &end, 10);
	if (*end != ':' || !end[1])
		return -1;
	*path = end + 1;
	return 0;
}

int message_read(struct reader *in, struct message *m)
{
	m->len = 0;
	size_t record_start = 0;
	for (;;) {
		ssize_t r = read_n(in, m, 1);
		if (r < 0)
			return -1;
		if (r == 0) {
			if (m->len)
				LOG("control closed in the middle of a message");
			errno = 0;
			return -1;
		}
		if (m->buf[m->len - 1] != '\0')
			continue;
		const char *rec = m->buf + record_start;
		if (*rec == '\0')
			return 0; /* the empty record ends the message */
		if (strncmp(rec, "file=", 5) == 0) {
			unsigned mode;
			size_t size;
			const char *path;
			if (parse_file_header(rec + 5, &mode, &size, &path) < 0) {
				LOG("bad file record '%s'", rec);
				return -1;
			}
			if (size > MAX_MESSAGE || read_n(in, m, size) != (ssize_t)size) {
				LOG("file record '%s': data missing", rec);
				return -1;
			}
		}
		record_start = m->len;
	}
}

/* Walks the records of m, calling on_record(key, value, data-after-record, ctx). */
typedef int (*record_fn)(const char *key, size_t keylen, const char *value, size_t *skip, void *ctx);

static int for_each_record(const struct message *m, record_fn fn, void *ctx)
{
	size_t off = 0;
	while (off < m->len) {
		const char *rec = m->buf + off;
		size_t reclen = strlen(rec);
		if (reclen == 0)
			return 0;
		const char *eq = strchr(rec, '=');
		if (!eq) {
			LOG("record without '=': '%s'", rec);
			return -1;
		}
		size_t skip = 0;
		TRY(fn(rec, eq - rec, eq + 1, &skip, ctx));
		off += reclen + 1 + skip;
	}
	return 0;
}

#define KEY(k) (keylen == sizeof(k) - 1 && strncmp(key, k, keylen) == 0)

static int parse_u64(const char *value, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(value, &end, 10);
	if (errno || *end || !*value) {
		LOG("not a number: '%s'", value);
		return -1;
	}
	*out = v;
	return 0;
}

static int setup_record(const char *key, size_t keylen, const char *value, size_t *skip, void *ctx)
{
	(void)skip;
	struct setup_spec *s = ctx;
	uint64_t n;
	if (KEY("lower")) {
		if (s->nlower == MAX_LOWER) {
			LOG("more than %d layers", MAX_LOWER);
			return -1;
		}
		s->lower[s->nlower++] = value;
	} else if (KEY("mnt")) {
		s->mnt = value;
	} else if (KEY("disk_bytes")) {
		TRY(parse_u64(value, &s->disk_bytes));
	} else if (KEY("uid")) {
		TRY(parse_u64(value, &n));
		s->uid = n;
	} else if (KEY("gid")) {
		TRY(parse_u64(value, &n));
		s->gid = n;
	} else if (KEY("hostname")) {
		s->hostname = value;
	} else if (KEY("workdir")) {
		s->workdir = value;
	} else if (KEY("cgroup")) {
		if (strcmp(value, "v1") == 0)
			s->cgroup = CGROUP_V1;
		else if (strcmp(value, "v2") == 0)
			s->cgroup = CGROUP_V2;
		else if (strcmp(value, "none") == 0)
			s->cgroup = CGROUP_NONE;
		else {
			LOG("cgroup must be v1, v2 or none, not '%s'", value);
			return -1;
		}
	} else if (KEY("cgroup_memory")) {
		s->cgroup_memory = value;
	} else if (KEY("cgroup_pids")) {
		s->cgroup_pids = value;
	} else if (KEY("cgroup_cpuacct")) {
		s->cgroup_cpuacct = value;
	} else if (KEY("cgroup_unified")) {
		s->cgroup_unified = value;
	} else if (KEY("memory_bytes")) {
		TRY(parse_u64(value, &s->memory_bytes));
	} else if (KEY("pids")) {
		TRY(parse_u64(value, &s->pids));
	} else {
		LOG("unknown setup key '%.*s'", (int)keylen, key);
		return -1;
	}
	return 0;
}

int setup_spec_parse(const struct message *m, struct setup_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->uid = s->gid = 65534;
	s->hostname = "warmbox";
	s->workdir = "/";
	s->disk_bytes = 64u << 20;
	s->memory_bytes = 64u << 20;
	s->pids = 16;
	TRY(for_each_record(m, setup_record, s));
	if (!s->nlower || !s->mnt) {
		LOG("setup needs at least one 'lower' and a 'mnt'");
		return -1;
	}
	if (strlen(s->mnt) > 1024 || strlen(s->workdir) > 1024) {
		LOG("mnt and workdir must be shorter than 1024 bytes");
		return -1;
	}
	if (s->workdir[0] != '/') {
		LOG("workdir must be absolute: '%s'", s->workdir);
		return -1;
	}
	if (s->uid == 0 || s->gid == 0) {
		LOG("refusing to run a job as root (uid %u gid %u)", s->uid, s->gid);
		return -1;
	}
	return 0;
}

static int run_record(const char *key, size_t keylen, const char *value, size_t *skip, void *ctx)
{
	struct run_spec *r = ctx;
	if (KEY("arg")) {
		if (r->argc == MAX_ARGS)
			return LOG("more than %d args", MAX_ARGS), -1;
		r->argv[r->argc++] = value;
	} else if (KEY("env")) {
		if (r->envc == MAX_ENV)
			return LOG("more than %d env entries", MAX_ENV), -1;
		r->envp[r->envc++] = value;
	} else if (KEY("file")) {
		if (r->nfiles == MAX_FILES)
			return LOG("more than %d files", MAX_FILES), -1;
		struct file_spec *f = &r->files[r->nfiles++];
		TRY(parse_file_header(value, &f->mode, &f->size, &f->path));
		f->data = value + strlen(value) + 1;
		*skip = f->size;
	} else if (KEY("wall_ms")) {
		TRY(parse_u64(value, &r->wall_ms));
	} else if (KEY("cpu_ms")) {
		TRY(parse_u64(value, &r->cpu_ms));
	} else if (KEY("memory_bytes")) {
		TRY(parse_u64(value, &r->memory_bytes));
	} else if (KEY("pids")) {
		TRY(parse_u64(value, &r->pids));
	} else if (KEY("output_bytes")) {
		TRY(parse_u64(value, &r->output_bytes));
	} else if (KEY("nofile")) {
		TRY(parse_u64(value, &r->nofile));
	} else if (KEY("fsize_bytes")) {
		TRY(parse_u64(value, &r->fsize_bytes));
	} else {
		LOG("unknown run key '%.*s'", (int)keylen, key);
		return -1;
	}
	return 0;
}

int run_spec_parse(const struct message *m, struct run_spec *r)
{
	memset(r, 0, sizeof(*r));
	TRY(for_each_record(m, run_record, r));
	if (!r->argc) {
		LOG("run needs at least one 'arg'");
		return -1;
	}
	if (!r->wall_ms || !r->memory_bytes || !r->pids || !r->nofile) {
		LOG("run needs wall_ms, memory_bytes, pids and nofile");
		return -1;
	}
	r->argv[r->argc] = NULL;
	r->envp[r->envc] = NULL;
	return 0;
}
