/*
 * The launcher's input. Its keys, their order and which are required are defined once, in
 * runtime/launcher-wire.json: the TypeScript encoder (runtime/launcher-protocol.ts) reads it, and
 * spec.c parses with build/wire-keys.h, generated from it. The launcher has no defaults of its own.
 *
 * A message is a list of records `key=value\0`, ended by an empty record `\0`.
 * A `file` record carries raw bytes after it: `file=<mode octal>:<size>:<relative path>\0<size bytes>`;
 * a `file_from` record has the same shape, its bytes a host path the supervisor reads the content from.
 * Fd 0 carries the setup message, then the run message, then (optional) any byte = kill.
 */
#pragma once
#include <stddef.h>
#include <netinet/in.h>
#include <stdint.h>

#define MAX_LOWER 128
#define MAX_ARGS 4096
#define MAX_ENV 4096
#define MAX_FILES 1024
#define MAX_NAMESERVERS 3 /* as many as glibc's resolver reads (MAXNS) */

enum cgroup_version { CGROUP_NONE, CGROUP_V1, CGROUP_V2 };

struct setup_spec {
	const char *lower[MAX_LOWER]; /* image layer dirs, bottom-most first */
	int nlower;
	const char *mnt;         /* an empty host dir the sandbox tmpfs is mounted on (private mount ns) */
	uint64_t disk_bytes;     /* size of the tmpfs holding the writable layer */
	unsigned uid, gid;       /* the unprivileged identity of the job */
	const char *hostname;
	const char *workdir;     /* absolute path inside the image; created and given to uid:gid */
	enum cgroup_version cgroup;
	const char *cgroup_memory, *cgroup_pids, *cgroup_cpuacct, *cgroup_cpu; /* v1: one dir per controller */
	const char *cgroup_unified;                                  /* v2: the sandbox's cgroup dir */
	uint64_t memory_bytes;   /* limits while parked, replaced by the run's */
	uint64_t pids;           /* the job's processes; the init is added to the cgroup's limit */
	uint64_t cpu_quota_us, cpu_period_us; /* CFS bandwidth while parked, replaced by the run's */
	/* Network "bridge" (net-veth.c, resolv.c); net_veth NULL: network "none", loopback only. */
	const char *net_bridge, *net_veth;
	struct in_addr net_address, net_gateway;
	unsigned net_prefix;
	const char *nameservers[MAX_NAMESERVERS];
	int nnameservers;
};

struct file_spec {
	const char *path;
	const char *data;      /* the content; for a file_from record, the host path it is read from */
	size_t size;
	unsigned mode;
	int from_host;         /* a file_from record: data is a host path (a blob), not the content */
};

struct run_spec {
	const char *argv[MAX_ARGS + 1];
	int argc;
	const char *envp[MAX_ENV + 1];
	int envc;
	const char *workdir; /* the job's own working directory, or NULL: the setup's */
	struct file_spec files[MAX_FILES];
	int nfiles;
	uint64_t wall_ms, cpu_ms, memory_bytes, nofile, fsize_bytes, stack_bytes;
	uint64_t output_bytes, stderr_bytes; /* caps of stdout and of stderr, each its own */
	const char *stdin_file; /* a host file fed to the job's stdin instead of FD_STDIN, or NULL */
	uint64_t pids; /* the job's processes; the init is added to the cgroup's limit */
	uint64_t cpu_quota_us, cpu_period_us; /* CFS bandwidth: quota µs of CPU per period µs */
	uint64_t capture;    /* 1: keep the writable layer open for the worker after the job (launcher.c) */
};

/* A message as read: its raw bytes (to forward verbatim) and a parse of them. */
struct message {
	char *buf;
	size_t len, cap;
};

/* Buffers reads from one fd: messages arrive back to back, so bytes past one are kept for the next. */
struct reader {
	int fd;
	size_t start, end;
	char buf[16384];
};

/* Reads one message; returns 0, or -1 on EOF (errno 0) or error. */
int message_read(struct reader *in, struct message *m);
int setup_spec_parse(const struct message *m, struct setup_spec *s);
int run_spec_parse(const struct message *m, struct run_spec *r);
