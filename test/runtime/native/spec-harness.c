/*
 * Parses one launcher message from stdin with the launcher's own parser (runtime/native/spec.c),
 * so its rules can be checked without building a sandbox.
 * Usage: spec-harness setup|run < MESSAGE   — prints what it parsed, or exits 1 with the parser's log.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "spec.h"

static struct reader in = { .fd = 0 };
static struct message msg;
static struct setup_spec setup;
static struct run_spec run;

static int print_setup(void)
{
	if (setup_spec_parse(&msg, &setup) < 0)
		return 1;
	printf("lower=%d mnt=%s disk_bytes=%" PRIu64 " uid=%u gid=%u hostname=%s workdir=%s cgroup=%d memory_bytes=%" PRIu64
	       " pids=%" PRIu64 " cpu_quota_us=%" PRIu64 " cpu_period_us=%" PRIu64 "\n",
	       setup.nlower, setup.mnt, setup.disk_bytes, setup.uid, setup.gid, setup.hostname, setup.workdir, setup.cgroup,
	       setup.memory_bytes, setup.pids, setup.cpu_quota_us, setup.cpu_period_us);
	if (setup.net_veth) {
		char addr[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &setup.net_address, addr, sizeof(addr));
		inet_ntop(AF_INET, &setup.net_gateway, gw, sizeof(gw));
		printf("net bridge=%s veth=%s address=%s/%u gateway=%s nameservers=%d\n", setup.net_bridge, setup.net_veth, addr,
		       setup.net_prefix, gw, setup.nnameservers);
	}
	return 0;
}

static int print_run(void)
{
	if (run_spec_parse(&msg, &run) < 0)
		return 1;
	printf("argc=%d envc=%d files=%d wall_ms=%" PRIu64 " cpu_ms=%" PRIu64 " memory_bytes=%" PRIu64 " pids=%" PRIu64
	       " output_bytes=%" PRIu64 " nofile=%" PRIu64 " fsize_bytes=%" PRIu64 " cpu_quota_us=%" PRIu64 " cpu_period_us=%" PRIu64 "\n",
	       run.argc, run.envc, run.nfiles, run.wall_ms, run.cpu_ms, run.memory_bytes, run.pids, run.output_bytes, run.nofile,
	       run.fsize_bytes, run.cpu_quota_us, run.cpu_period_us);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2 || (strcmp(argv[1], "setup") != 0 && strcmp(argv[1], "run") != 0))
		return fprintf(stderr, "usage: spec-harness setup|run < MESSAGE\n"), 2;
	if (message_read(&in, &msg) < 0)
		return 1;
	return strcmp(argv[1], "setup") == 0 ? print_setup() : print_run();
}
