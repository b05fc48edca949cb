#pragma once
#include "spec.h"

/* The fds the sandbox's first process is given (arranged by sandbox_child_fds before setup). */
enum {
	INIT_FD_STDIN = 3,  /* read end of the job's stdin pipe */
	INIT_FD_STDOUT = 4, /* write end of the job's stdout pipe */
	INIT_FD_STDERR = 5, /* write end of the job's stderr pipe */
	INIT_FD_REPORT = 6, /* write end of the report pipe to the supervisor */
	INIT_FD_RUN = 7,    /* read end of the pipe carrying the run message */
	INIT_FD_COUNT = 8,
};

/*
 * Not arranged before setup: opened by mnt_build_root once the writable layer exists (O_PATH, so
 * it reads nothing and the job never inherits it: close-on-exec, and job_exec closes fds from 3).
 * A capture run's supervisor takes it with pidfd_getfd before the namespace dies (launcher.c).
 */
#define INIT_FD_UPPER INIT_FD_COUNT

/*
 * Runs as PID 1 of the new namespaces: contains itself (contain.c), parks until the run message,
 * then forks the job, reaps every process, and reports the job's status. Never returns.
 */
void init_main(const struct setup_spec *s) __attribute__((noreturn));
