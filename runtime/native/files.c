#include "files.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

#define RESOLVE_STRICT (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

static int openat_strict(int dirfd, const char *path, int flags, mode_t mode)
{
	struct open_how how = { .flags = flags | O_CLOEXEC | O_NOFOLLOW, .mode = mode, .resolve = RESOLVE_STRICT };
	return syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* Creates every directory above the file, one component at a time, each opened strictly. */
static int make_parents(int dirfd, const char *path)
{
	char dir[4096];
	for (const char *slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
		size_t n = slash - path;
		if (n >= sizeof(dir))
			return errno = ENAMETOOLONG, -1;
		memcpy(dir, path, n);
		dir[n] = '\0';
		int fd = openat_strict(dirfd, dir, O_RDONLY | O_DIRECTORY, 0);
		if (fd >= 0) {
			close(fd);
			continue;
		}
		if (errno != ENOENT || mkdirat(dirfd, dir, 0755) < 0)
			return -1;
	}
	return 0;
}

static int valid_relative(const char *path)
{
	if (!*path || path[0] == '/')
		return 0;
	for (const char *c = path; c; c = strchr(c, '/') ? strchr(c, '/') + 1 : NULL)
		if (strncmp(c, "..", 2) == 0 && (c[2] == '/' || c[2] == '\0'))
			return 0;
	return 1;
}

static int write_all(int fd, const char *data, size_t size)
{
	while (size) {
		ssize_t n = write(fd, data, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		size -= n;
	}
	return 0;
}

static int place_one(int dirfd, const struct file_spec *f)
{
	if (!valid_relative(f->path))
		return errno = EINVAL, -1;
	if (make_parents(dirfd, f->path) < 0)
		return -1;
	int fd = openat_strict(dirfd, f->path, O_WRONLY | O_CREAT | O_TRUNC, f->mode & 0777);
	if (fd < 0)
		return -1;
	/* The umask may have cut the mode; set it exactly, never with setuid/setgid/sticky bits. */
	int rc = write_all(fd, f->data, f->size) < 0 || fchmod(fd, f->mode & 0777) < 0 ? -1 : 0;
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int files_place(int dirfd, const struct run_spec *r, char *err, size_t errlen)
{
	for (int i = 0; i < r->nfiles; i++) {
		if (place_one(dirfd, &r->files[i]) < 0) {
			snprintf(err, errlen, "placing file '%s': %s", r->files[i].path, strerror(errno));
			return -1;
		}
	}
	return 0;
}
