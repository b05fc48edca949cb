#pragma once
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "spec.h"

/*
 * The fds a supervisor has (zygote.c connects them back to the worker's socket): three connections,
 * control on 0-2, stdin on 3, output on 4. Fewer connections are fewer for the worker to accept,
 * wrap and tear down per sandbox (stdout and stderr had one each). stdin keeps one of its own: a
 * worker's write to a connection whose supervisor is gone (EPIPE) ends that connection at once,
 * before what is still unread in it, and the output must never be cut so.
 */
enum {
	FD_CONTROL = 0, /* setup message, run message, then any byte or EOF = kill */
	FD_EVENTS = 1,  /* lines: ready, result ..., error ..., gone */
	FD_LOG = 2,     /* diagnostics for the operator */
	FD_STDIN = 3,   /* bytes for the job's stdin; EOF closes it */
	FD_OUTPUT = 4,  /* the job's stdout and stderr, each cut at its own limit, in frames (launcher-wire.json "output") */
};

enum limit_hit { HIT_NONE, HIT_WALL, HIT_CPU, HIT_OUTPUT, HIT_CANCEL };

/* The supervisor's ends of the pipes into and out of the sandbox. */
struct sandbox_pipes {
	int stdin_source; /* what the job's stdin is fed from: FD_STDIN, or a host file (run_spec.stdin_file) */
	int job_stdin;  /* write end */
	int job_stdout; /* read end */
	int job_stderr; /* read end */
	int report;     /* read end */
};

struct outcome {
	enum limit_hit hit;
	int exited_report; /* the init reported the job's end */
	int32_t wait_status, exec_errno;
	uint64_t wall_us;
	uint64_t stdout_bytes, stderr_bytes; /* relayed so far, each under its own cap */
	const char *truncated; /* "stdout", "stderr" or "none" */
};

/* Relays stdio, watches the limits, and returns when the job ended or a limit was hit. */
void supervise(const struct setup_spec *s, const struct run_spec *r, struct sandbox_pipes *p,
	       struct outcome *o);

/* After the end: reads what the job wrote before it, without waiting for stragglers (not after a cancel). */
void drain_output(const struct run_spec *r, struct sandbox_pipes *p, struct outcome *o);

/*
 * Waits until the worker closes the control connection, reading (and dropping) what it still sends.
 * A supervisor's last step: a kill byte the worker writes after the job's end then lands in an open
 * connection, instead of failing with EPIPE, which ends the worker's side of it before the result
 * line is read.
 */
void wait_for_hangup(void);
