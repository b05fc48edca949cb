#include "resolv.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

static int open_etc(void)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	int fd = syscall(SYS_openat2, AT_FDCWD, "etc", &how, sizeof(how));
	if (fd < 0 && errno == ENOENT && mkdir("etc", 0755) == 0)
		fd = syscall(SYS_openat2, AT_FDCWD, "etc", &how, sizeof(how));
	if (fd < 0)
		PLOG("open(/etc) for resolv.conf");
	return fd;
}

static int write_servers(int fd, const struct setup_spec *s)
{
	if (s->nnameservers == 0)
		return dprintf(fd, "# no resolver: the worker has none a sandbox may use (WARMBOX_NETWORK_DNS)\n") < 0 ? -1 : 0;
	for (int i = 0; i < s->nnameservers; i++)
		if (dprintf(fd, "nameserver %s\n", s->nameservers[i]) < 0)
			return -1;
	return 0;
}

/* Called with the new root as the working directory (mnt.c's pivot_into), as root. */
int resolv_write(const struct setup_spec *s)
{
	if (!s->net_veth)
		return 0;
	int etc = open_etc();
	if (etc < 0)
		return -1;
	/* Whatever the image has there (a symlink to a stub resolver's file, say) goes; never followed. */
	if (unlinkat(etc, "resolv.conf", 0) < 0 && errno != ENOENT) {
		PLOG("unlink(/etc/resolv.conf)");
		close(etc);
		return -1;
	}
	int fd = openat(etc, "resolv.conf", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	close(etc);
	if (fd < 0)
		return PLOG("open(/etc/resolv.conf)"), -1;
	int rc = fchmod(fd, 0644) < 0 ? -1 : write_servers(fd, s); /* whatever the umask */
	if (rc < 0)
		PLOG("write(/etc/resolv.conf)");
	close(fd);
	return rc;
}
