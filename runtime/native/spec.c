#include "spec.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "wire-keys.h" /* generated from runtime/launcher-wire.json */

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

/* A record of a key the table types `file` carries bytes after it: its header (after `key=`), else NULL. */
static const char *file_header_of(const char *rec)
{
	for (int k = 0; k < RUN_KEY_COUNT; k++) {
		size_t n = strlen(run_keys[k].name);
		if (run_keys[k].type == WIRE_FILE && strncmp(rec, run_keys[k].name, n) == 0 && rec[n] == '=')
			return rec + n + 1;
	}
	return NULL;
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
		const char *header = file_header_of(rec);
		if (header) {
			unsigned mode;
			size_t size;
			const char *path;
			if (parse_file_header(header, &mode, &size, &path) < 0) {
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

/* A message's keys as its table (wire-keys.h) has them, and how often each came. */
struct key_count {
	const char *message;
	const struct wire_key *keys;
	int nkeys;
	unsigned *seen;
};

/*
 * The record's key as its index in the table, counted; with its value parsed into *n when the
 * table says it is a number. Refuses a key the table does not know and a single key given twice.
 */
static int take_key(struct key_count *c, const char *key, size_t keylen, const char *value, uint64_t *n)
{
	int k = 0;
	while (k < c->nkeys && !(strlen(c->keys[k].name) == keylen && strncmp(c->keys[k].name, key, keylen) == 0))
		k++;
	if (k == c->nkeys) {
		LOG("unknown %s key '%.*s'", c->message, (int)keylen, key);
		return -1;
	}
	if (c->seen[k]++ && !c->keys[k].repeated) {
		LOG("%s key '%s' given twice", c->message, c->keys[k].name);
		return -1;
	}
	*n = 0;
	if (c->keys[k].type == WIRE_U64)
		TRY(parse_u64(value, n));
	return k;
}

/* The launcher has no defaults: every key the table does not call optional must have come. */
static int check_required(const struct key_count *c)
{
	for (int k = 0; k < c->nkeys; k++) {
		if (!c->keys[k].optional && !c->seen[k]) {
			LOG("%s message lacks '%s'", c->message, c->keys[k].name);
			return -1;
		}
	}
	return 0;
}

/* The kernel's own bounds on CFS bandwidth (kernel/sched/core.c): period 1 ms to 1 s, quota at least 1 ms. */
static int cpu_bandwidth_valid(const char *message, uint64_t quota_us, uint64_t period_us)
{
	if (period_us < 1000 || period_us > 1000000 || quota_us < 1000) {
		LOG("%s: cpu_period_us must be 1000 to 1000000 and cpu_quota_us at least 1000 (got %llu, %llu)", message,
		    (unsigned long long)period_us, (unsigned long long)quota_us);
		return -1;
	}
	return 0;
}

static int parse_ipv4(const char *key, const char *value, struct in_addr *out)
{
	if (inet_pton(AF_INET, value, out) != 1) {
		LOG("%s is not an IPv4 address: '%s'", key, value);
		return -1;
	}
	return 0;
}

struct setup_parse {
	struct setup_spec *s;
	struct key_count count;
};

static int parse_cgroup_version(const char *value, enum cgroup_version *out)
{
	if (strcmp(value, "v1") == 0)
		*out = CGROUP_V1;
	else if (strcmp(value, "v2") == 0)
		*out = CGROUP_V2;
	else if (strcmp(value, "none") == 0)
		*out = CGROUP_NONE;
	else {
		LOG("cgroup must be v1, v2 or none, not '%s'", value);
		return -1;
	}
	return 0;
}

/* One record of the setup message. A switch without default: a key added to the table does not build until handled here. */
static int setup_record(const char *key, size_t keylen, const char *value, size_t *skip, void *ctx)
{
	(void)skip;
	struct setup_parse *p = ctx;
	struct setup_spec *s = p->s;
	uint64_t n;
	int k = take_key(&p->count, key, keylen, value, &n);
	if (k < 0)
		return -1;
	switch ((enum setup_key)k) {
	case SETUP_lower:
		if (s->nlower == MAX_LOWER) {
			LOG("more than %d layers", MAX_LOWER);
			return -1;
		}
		s->lower[s->nlower++] = value;
		break;
	case SETUP_mnt:
		s->mnt = value;
		break;
	case SETUP_disk_bytes:
		s->disk_bytes = n;
		break;
	case SETUP_uid:
		s->uid = n;
		break;
	case SETUP_gid:
		s->gid = n;
		break;
	case SETUP_hostname:
		s->hostname = value;
		break;
	case SETUP_workdir:
		s->workdir = value;
		break;
	case SETUP_cgroup:
		TRY(parse_cgroup_version(value, &s->cgroup));
		break;
	case SETUP_cgroup_memory:
		s->cgroup_memory = value;
		break;
	case SETUP_cgroup_pids:
		s->cgroup_pids = value;
		break;
	case SETUP_cgroup_cpuacct:
		s->cgroup_cpuacct = value;
		break;
	case SETUP_cgroup_cpu:
		s->cgroup_cpu = value;
		break;
	case SETUP_cgroup_unified:
		s->cgroup_unified = value;
		break;
	case SETUP_memory_bytes:
		s->memory_bytes = n;
		break;
	case SETUP_pids:
		s->pids = n;
		break;
	case SETUP_cpu_quota_us:
		s->cpu_quota_us = n;
		break;
	case SETUP_cpu_period_us:
		s->cpu_period_us = n;
		break;
	case SETUP_net_bridge:
		s->net_bridge = value;
		break;
	case SETUP_net_veth:
		s->net_veth = value;
		break;
	case SETUP_net_address:
		TRY(parse_ipv4("net_address", value, &s->net_address));
		break;
	case SETUP_net_prefix:
		s->net_prefix = n;
		break;
	case SETUP_net_gateway:
		TRY(parse_ipv4("net_gateway", value, &s->net_gateway));
		break;
	case SETUP_nameserver:
		if (s->nnameservers == MAX_NAMESERVERS)
			return LOG("more than %d nameservers", MAX_NAMESERVERS), -1;
		s->nameservers[s->nnameservers++] = value;
		break;
	}
	return 0;
}

/* Network "bridge" comes whole or not at all (launcher-wire.json). */
static int network_valid(const struct key_count *c, const struct setup_spec *s)
{
	static const enum setup_key net[] = { SETUP_net_bridge, SETUP_net_veth, SETUP_net_address, SETUP_net_prefix, SETUP_net_gateway };
	unsigned given = 0;
	for (size_t i = 0; i < sizeof(net) / sizeof(net[0]); i++)
		given += c->seen[net[i]] ? 1 : 0;
	if (given == 0 && !c->seen[SETUP_nameserver])
		return 0;
	if (given != sizeof(net) / sizeof(net[0])) {
		LOG("setup: net_bridge, net_veth, net_address, net_prefix and net_gateway come together or not at all");
		return -1;
	}
	if (strlen(s->net_veth) >= 16 || strlen(s->net_bridge) >= 16 || s->net_prefix < 8 || s->net_prefix > 30) {
		LOG("setup: interface names must be shorter than 16 bytes and net_prefix 8 to 30");
		return -1;
	}
	return 0;
}

int setup_spec_parse(const struct message *m, struct setup_spec *s)
{
	unsigned seen[SETUP_KEY_COUNT] = { 0 };
	struct setup_parse p = { s, { "setup", setup_keys, SETUP_KEY_COUNT, seen } };
	memset(s, 0, sizeof(*s));
	TRY(for_each_record(m, setup_record, &p));
	TRY(check_required(&p.count));
	TRY(network_valid(&p.count, s));
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
	return cpu_bandwidth_valid("setup", s->cpu_quota_us, s->cpu_period_us);
}

struct run_parse {
	struct run_spec *r;
	struct key_count count;
};

/* One record of the run message; like setup_record, a key added to the table does not build until handled. */
static int run_record(const char *key, size_t keylen, const char *value, size_t *skip, void *ctx)
{
	struct run_parse *p = ctx;
	struct run_spec *r = p->r;
	uint64_t n;
	int k = take_key(&p->count, key, keylen, value, &n);
	if (k < 0)
		return -1;
	switch ((enum run_key)k) {
	case RUN_arg:
		if (r->argc == MAX_ARGS)
			return LOG("more than %d args", MAX_ARGS), -1;
		r->argv[r->argc++] = value;
		break;
	case RUN_env:
		if (r->envc == MAX_ENV)
			return LOG("more than %d env entries", MAX_ENV), -1;
		r->envp[r->envc++] = value;
		break;
	case RUN_workdir:
		if (value[0] != '/' || strlen(value) > 1023)
			return LOG("run workdir must be absolute and shorter than 1024 bytes: '%s'", value), -1;
		r->workdir = value;
		break;
	case RUN_file:
	case RUN_file_from: {
		if (r->nfiles == MAX_FILES)
			return LOG("more than %d files", MAX_FILES), -1;
		struct file_spec *f = &r->files[r->nfiles++];
		TRY(parse_file_header(value, &f->mode, &f->size, &f->path));
		f->data = value + strlen(value) + 1;
		f->from_host = k == RUN_file_from;
		*skip = f->size;
		if (f->from_host && (f->size == 0 || f->size > 4095 || memchr(f->data, '\0', f->size)))
			return LOG("file_from '%s': the host path must be 1 to 4095 bytes without NUL", f->path), -1;
		break;
	}
	case RUN_stdin_file:
		if (value[0] != '/')
			return LOG("stdin_file must be an absolute host path: '%s'", value), -1;
		r->stdin_file = value;
		break;
	case RUN_stderr_bytes:
		r->stderr_bytes = n;
		break;
	case RUN_stack_bytes:
		r->stack_bytes = n;
		break;
	case RUN_wall_ms:
		r->wall_ms = n;
		break;
	case RUN_cpu_ms:
		r->cpu_ms = n;
		break;
	case RUN_memory_bytes:
		r->memory_bytes = n;
		break;
	case RUN_pids:
		r->pids = n;
		break;
	case RUN_output_bytes:
		r->output_bytes = n;
		break;
	case RUN_nofile:
		r->nofile = n;
		break;
	case RUN_fsize_bytes:
		r->fsize_bytes = n;
		break;
	case RUN_cpu_quota_us:
		r->cpu_quota_us = n;
		break;
	case RUN_cpu_period_us:
		r->cpu_period_us = n;
		break;
	case RUN_capture:
		if (n > 1)
			return LOG("run capture must be 0 or 1, not %" PRIu64, n), -1;
		r->capture = n;
		break;
	}
	return 0;
}

int run_spec_parse(const struct message *m, struct run_spec *r)
{
	unsigned seen[RUN_KEY_COUNT] = { 0 };
	struct run_parse p = { r, { "run", run_keys, RUN_KEY_COUNT, seen } };
	memset(r, 0, sizeof(*r));
	TRY(for_each_record(m, run_record, &p));
	TRY(check_required(&p.count));
	if (!r->wall_ms || !r->memory_bytes || !r->pids || !r->nofile || !r->stack_bytes) {
		LOG("wall_ms, memory_bytes, pids, nofile and stack_bytes must not be 0");
		return -1;
	}
	TRY(cpu_bandwidth_valid("run", r->cpu_quota_us, r->cpu_period_us));
	r->argv[r->argc] = NULL;
	r->envp[r->envc] = NULL;
	return 0;
}
