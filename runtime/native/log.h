/* Diagnostics go to fd 2 of the process that fails, naming the call and errno (nsjail's PLOG_E). */
#pragma once
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define LOG(fmt, ...) dprintf(2, "warmbox-launcher: " fmt "\n", ##__VA_ARGS__)
#define PLOG(fmt, ...) dprintf(2, "warmbox-launcher: " fmt ": %s\n", ##__VA_ARGS__, strerror(errno))

/* Return -1 from the enclosing function when a step fails; the step has logged why. */
#define TRY(expr)                 \
	do {                      \
		if ((expr) < 0)   \
			return -1; \
	} while (0)
