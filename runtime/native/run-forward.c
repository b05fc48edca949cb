#include "run-forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host-file.h"
#include "log.h"

static int write_all(int fd, const char *b, size_t len)
{
	while (len) {
		ssize_t n = write(fd, b, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return PLOG("write(run message)"), -1;
		b += n;
		len -= n;
	}
	return 0;
}

/* The record `file=<mode>:<size>:<path>` and the blob's bytes after it. spec.c checked the header. */
static int forward_blob_file(int fd, const char *header, const char *host_path, size_t host_len)
{
	char path[4096], rec[8192];
	snprintf(path, sizeof(path), "%.*s", (int)host_len, host_path);
	off_t size;
	int blob = host_file_open(path, &size);
	if (blob < 0)
		return -1;
	unsigned mode = strtoul(header, NULL, 8);
	const char *rel = strchr(strchr(header, ':') + 1, ':') + 1;
	int n = snprintf(rec, sizeof(rec), "file=%o:%lld:%s", mode, (long long)size, rel);
	int rc = n < 0 || (size_t)n >= sizeof(rec) || write_all(fd, rec, n + 1) < 0 || host_file_copy(blob, fd, size) < 0 ? -1 : 0;
	close(blob);
	return rc;
}

int run_forward(int fd, const struct message *m)
{
	static const char FILE_FROM[] = "file_from=", FILE[] = "file=";
	size_t off = 0;
	while (off < m->len) {
		const char *rec = m->buf + off;
		size_t reclen = strlen(rec), data = 0;
		int from_host = strncmp(rec, FILE_FROM, sizeof(FILE_FROM) - 1) == 0;
		if (from_host || strncmp(rec, FILE, sizeof(FILE) - 1) == 0) {
			const char *header = rec + (from_host ? sizeof(FILE_FROM) : sizeof(FILE)) - 1;
			data = strtoull(strchr(header, ':') + 1, NULL, 10);
			if (from_host)
				TRY(forward_blob_file(fd, header, rec + reclen + 1, data));
		}
		if (!from_host)
			TRY(write_all(fd, rec, reclen + 1 + data));
		off += reclen + 1 + data;
	}
	return 0;
}
