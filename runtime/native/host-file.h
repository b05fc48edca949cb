#pragma once
#include <sys/types.h>

/*
 * Opens a host file the worker named for a run (a blob of its content-addressed store): read-only,
 * no symlink followed at its last component, and only a regular file. Returns the fd and its size
 * in *size, or -1 (logged). The path comes from the worker, never from the job.
 */
int host_file_open(const char *path, off_t *size);

/* Copies exactly size bytes of from (at its offset) to to; returns 0 or -1 (logged). */
int host_file_copy(int from, int to, off_t size);
