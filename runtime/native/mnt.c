#include "mnt.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"
#include "log.h"

#define NOSUID_NODEV (MS_NOSUID | MS_NODEV)

static int do_mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data)
{
	if (mount(src, dst, type, flags, data) < 0) {
		PLOG("mount(%s, %s, %s, %#lx, %s)", src ? src : "NULL", dst, type ? type : "NULL", flags,
		     data ? data : "NULL");
		return -1;
	}
	return 0;
}

static int ensure_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST) {
		PLOG("mkdir(%s)", path);
		return -1;
	}
	return 0;
}

/*
 * What the job's mount table shows: the kernel prints the overlay's options as they were given
 * (and the path of an fd given to fsconfig in full), so the layers are named by short relative
 * links, made in the sandbox's own tmpfs, and the writable layer by names relative to it. No host
 * path reaches /proc/self/mountinfo, and 128 layers fit the one page mount(2) copies
 * (FACTS.md: long absolute layer paths ran out of it at about 30), on every kernel.
 */
#define LAYER_LINKS "layers"

static int link_layers(const struct setup_spec *s)
{
	TRY(ensure_dir(LAYER_LINKS, 0700));
	for (int i = 0; i < s->nlower; i++) {
		char name[32];
		snprintf(name, sizeof(name), LAYER_LINKS "/%d", i);
		if (s->lower[i][0] != '/')
			return LOG("layer dir must be an absolute path: %s", s->lower[i]), -1;
		if (symlink(s->lower[i], name) < 0)
			return PLOG("symlink(%s, %s)", s->lower[i], name), -1;
	}
	return 0;
}

/* The overlay's lowerdir lists the top-most layer first; the spec lists the bottom-most first. */
static int overlay_options(const struct setup_spec *s, char *buf, size_t cap)
{
	size_t off = 0;
	for (int i = s->nlower - 1; i >= 0; i--) {
		int n = snprintf(buf + off, cap - off, "%s" LAYER_LINKS "/%d", off ? ":" : "lowerdir=", i);
		if (n < 0 || (size_t)n >= cap - off)
			return LOG("overlay options longer than %zu bytes (%d layers)", cap, s->nlower), -1;
		off += n;
	}
	int n = snprintf(buf + off, cap - off, ",upperdir=upper,workdir=work");
	if (n < 0 || (size_t)n >= cap - off)
		return LOG("overlay options longer than %zu bytes (%d layers)", cap, s->nlower), -1;
	return 0;
}

/*
 * Every tmpfs gets an explicit size and inode count: the kernel's defaults are half the host's
 * memory, which statfs and the mount table would show the job.
 */
#define UPPER_BYTES_PER_INODE 1024
#define UPPER_MIN_INODES 1024

/* The writable layer, kept open at a fixed fd for a capture (init.h INIT_FD_UPPER). */
static int hold_upper(void)
{
	int fd = open("upper", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return PLOG("open(upper)"), -1;
	if (fd == INIT_FD_UPPER) /* already there: dup3 refuses an fd onto itself */
		return 0;
	if (dup3(fd, INIT_FD_UPPER, O_CLOEXEC) < 0)
		return PLOG("dup3(upper, %d)", INIT_FD_UPPER), close(fd), -1;
	close(fd);
	return 0;
}

/* The writable layer lives in a size-limited tmpfs: the job's disk limit. */
static int mount_overlay_root(const struct setup_spec *s)
{
	unsigned long long inodes = s->disk_bytes / UPPER_BYTES_PER_INODE;
	char opt[128];
	snprintf(opt, sizeof(opt), "size=%llu,nr_inodes=%llu,mode=0755", (unsigned long long)s->disk_bytes,
		 inodes < UPPER_MIN_INODES ? UPPER_MIN_INODES : inodes);
	TRY(do_mount("warmbox-upper", s->mnt, "tmpfs", NOSUID_NODEV, opt));
	if (chdir(s->mnt) < 0)
		return PLOG("chdir(%s)", s->mnt), -1;
	TRY(ensure_dir("upper", 0755));
	TRY(hold_upper());
	TRY(ensure_dir("work", 0755));
	TRY(ensure_dir("root", 0755));
	TRY(link_layers(s));
	char data[4096];
	TRY(overlay_options(s, data, sizeof(data)));
	return do_mount("warmbox-root", "root", "overlay", NOSUID_NODEV, data);
}

/* Docker's masked and read-only /proc paths: what a container must not read or write. */
static const char *const proc_masked_files[] = {
	"kcore", "keys", "timer_list", "sched_debug", "latency_stats", "sysrq-trigger", "kallsyms", NULL,
};
static const char *const proc_masked_dirs[] = { "acpi", "scsi", "asound", "firmware", NULL };
static const char *const proc_readonly[] = { "sys", "irq", "bus", "fs", NULL };

/* Files are masked with the sandbox's own /dev/null (as Docker does), dirs with an empty tmpfs. */
static int mask_proc(const char *proc, const char *dev_null)
{
	char path[4096];
	for (const char *const *f = proc_masked_files; *f; f++) {
		snprintf(path, sizeof(path), "%s/%s", proc, *f);
		if (access(path, F_OK) == 0)
			TRY(do_mount(dev_null, path, NULL, MS_BIND, NULL));
	}
	for (const char *const *d = proc_masked_dirs; *d; d++) {
		snprintf(path, sizeof(path), "%s/%s", proc, *d);
		if (access(path, F_OK) == 0)
			TRY(do_mount("warmbox-mask", path, "tmpfs", MS_RDONLY | NOSUID_NODEV | MS_NOEXEC,
				     "size=4k,nr_inodes=1,mode=0555"));
	}
	for (const char *const *d = proc_readonly; *d; d++) {
		snprintf(path, sizeof(path), "%s/%s", proc, *d);
		if (access(path, F_OK) != 0)
			continue;
		TRY(do_mount(path, path, NULL, MS_BIND | MS_REC, NULL));
		TRY(do_mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | NOSUID_NODEV | MS_NOEXEC, NULL));
	}
	return 0;
}

static int mount_proc(const char *root)
{
	char proc[4096], dev_null[4096];
	snprintf(proc, sizeof(proc), "%s/proc", root);
	snprintf(dev_null, sizeof(dev_null), "%s/dev/null", root);
	TRY(ensure_dir(proc, 0555));
	TRY(do_mount("proc", proc, "proc", NOSUID_NODEV | MS_NOEXEC, NULL));
	return mask_proc(proc, dev_null);
}

/* Only harmless character devices: no block devices, no tty (TIOCSTI), no kmsg. */
static const struct {
	const char *name;
	unsigned major, minor;
} dev_nodes[] = {
	{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 }, { "urandom", 1, 9 },
};

/*
 * The nodes are made here, as runc makes them without a user namespace: bind mounts of the host's
 * would show the job the host's devtmpfs and its size (half the host's memory). So this tmpfs is
 * not nodev; it is read-only once filled, and the job could not make a node anyway (no CAP_MKNOD).
 */
static int make_dev_nodes(const char *dev)
{
	char path[4096];
	for (size_t i = 0; i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dev, dev_nodes[i].name);
		if (mknod(path, S_IFCHR | 0666, makedev(dev_nodes[i].major, dev_nodes[i].minor)) < 0)
			return PLOG("mknod(%s)", path), -1;
		if (chmod(path, 0666) < 0) /* past the umask */
			return PLOG("chmod(%s)", path), -1;
	}
	static const char *const links[][2] = {
		{ "/proc/self/fd", "fd" },
		{ "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" },
		{ "/proc/self/fd/2", "stderr" },
	};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dev, links[i][1]);
		if (symlink(links[i][0], path) < 0)
			return PLOG("symlink(%s)", path), -1;
	}
	return 0;
}

static int mount_dev(const char *root)
{
	char dev[4096], shm[4096];
	snprintf(dev, sizeof(dev), "%s/dev", root);
	snprintf(shm, sizeof(shm), "%s/shm", dev);
	TRY(ensure_dir(dev, 0755));
	TRY(do_mount("warmbox-dev", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,nr_inodes=64,mode=0755"));
	TRY(make_dev_nodes(dev));
	TRY(ensure_dir(shm, 01777));
	TRY(do_mount("warmbox-shm", shm, "tmpfs", NOSUID_NODEV | MS_NOEXEC, "size=16m,nr_inodes=4096,mode=1777"));
	return do_mount(NULL, dev, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL);
}

/* /tmp is part of the writable layer; it only needs to exist with the sticky bit. */
static int ensure_tmp(const char *root)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s/tmp", root);
	struct stat st;
	if (lstat(tmp, &st) == 0)
		return 0;
	TRY(ensure_dir(tmp, 01777));
	if (chmod(tmp, 01777) < 0)
		return PLOG("chmod(%s)", tmp), -1;
	return 0;
}

/* pivot_root(".", ".") stacks the old root under the new one; detaching it leaves no host path. */
static int pivot_into(const char *root)
{
	if (chdir(root) < 0)
		return PLOG("chdir(%s)", root), -1;
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return PLOG("pivot_root(%s)", root), -1;
	if (umount2(".", MNT_DETACH) < 0)
		return PLOG("umount2(old root)"), -1;
	if (chdir("/") < 0)
		return PLOG("chdir(/)"), -1;
	return 0;
}

int mnt_build_root(const struct setup_spec *s)
{
	char root[4096];
	snprintf(root, sizeof(root), "%s/root", s->mnt);
	/* FACTS.md gotcha 3: nothing we mount may propagate back to the host. */
	TRY(do_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	TRY(mount_overlay_root(s));
	TRY(mount_dev(root)); /* first: /proc's masks are its /dev/null */
	TRY(mount_proc(root));
	TRY(ensure_tmp(root));
	return pivot_into(root);
}

/*
 * In the supervisor, on the host's side: each layer dir stays open while the sandbox lives, so
 * that the host's garbage collector finds the layers in use in /proc/<pid>/fd (the mount table
 * names none of them any more). The init closes these fds (launcher.c child_fds).
 */
int mnt_hold_layers(const struct setup_spec *s)
{
	for (int i = 0; i < s->nlower; i++)
		if (open(s->lower[i], O_PATH | O_DIRECTORY | O_CLOEXEC) < 0)
			return PLOG("open layer dir %s", s->lower[i]), -1;
	return 0;
}
