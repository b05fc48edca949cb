#pragma once
#include "spec.h"

/*
 * Sends the run message on to the sandbox's init: its records as they came, except that each
 * `file_from` record (a file whose content is a host blob) becomes a `file` record carrying the
 * blob's bytes, read here on the host. The content never travels through the worker, Redis or the
 * control socket; the init places it as it places any file, inside the sandbox (files.c).
 */
int run_forward(int fd, const struct message *m);
