#include "host-file.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

int host_file_open(const char *path, off_t *size)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return PLOG("open(%s)", path), -1;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		PLOG("fstat(%s)", path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		LOG("%s is not a regular file", path);
		close(fd);
		return -1;
	}
	*size = st.st_size;
	return fd;
}

/* Plain reads and writes: the fallback when sendfile cannot write to this kind of fd. */
static int copy_by_read(int from, int to, off_t left)
{
	char buf[65536];
	while (left > 0) {
		ssize_t n = read(from, buf, left < (off_t)sizeof(buf) ? (size_t)left : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? (PLOG("read(host file)"), -1) : (LOG("host file shorter than its size"), -1);
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(to, buf + off, n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return PLOG("write(host file copy)"), -1;
			off += w;
		}
		left -= n;
	}
	return 0;
}

int host_file_copy(int from, int to, off_t size)
{
	off_t left = size;
	while (left > 0) {
		/* In the kernel, page cache to pipe: no copy through this process. */
		ssize_t n = sendfile(to, from, NULL, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EINVAL || errno == ENOSYS) && left == size)
			return copy_by_read(from, to, left);
		if (n < 0)
			return PLOG("sendfile(host file)"), -1;
		if (n == 0)
			return LOG("host file shorter than its size"), -1;
		left -= n;
	}
	return 0;
}
