/*
 * A capture run (the run message's `capture=1`): the sandbox's writable layer outlives the job, so
 * that the worker can copy it into its snapshot store (a judge's build). The supervisor takes the
 * init's fd of the layer (INIT_FD_UPPER) before the namespace dies, waits until every process of
 * the sandbox is gone (nothing of the job can change the layer while it is copied), names the fd in
 * its result (/proc/<supervisor>/fd/<fd>: the host reaches the tmpfs through it, no mount needed),
 * and holds it until the worker hangs up.
 */
#pragma once
#include <sys/types.h>

/* The init's writable-layer fd, as an fd of this process; -1 (logged) when it cannot be taken. */
int capture_take_upper(pid_t init);

/* Kills the init (and with it every process of its namespace) and reaps it. */
void capture_reap_init(pid_t init);
