/*
 * The sandbox's init reports to the supervisor over a pipe, one message per write(2)
 * (each shorter than PIPE_BUF, so never interleaved or split).
 */
#pragma once
#include <stdint.h>

enum report_kind { REPORT_READY = 'R', REPORT_ERROR = 'E', REPORT_EXIT = 'X' };

struct job_exit {
	int32_t wait_status; /* as from waitpid(2) */
	int32_t exec_errno;  /* non-zero when the command could not be started */
	uint64_t wall_us;    /* from just before the job's fork to its reaping */
};

struct report {
	char kind;
	union {
		struct job_exit exit;
		char error[256];
	};
};
