#include "mnt.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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

/* The overlay's lowerdir lists the top-most layer first; the spec lists the bottom-most first. */
static int lowerdir_option(const struct setup_spec *s, char *buf, size_t cap)
{
	size_t off = 0;
	for (int i = s->nlower - 1; i >= 0; i--) {
		int n = snprintf(buf + off, cap - off, "%s%s", off ? ":" : "", s->lower[i]);
		if (n < 0 || (size_t)n >= cap - off) {
			LOG("overlay lowerdir option longer than %zu bytes (%d layers)", cap, s->nlower);
			return -1;
		}
		off += n;
	}
	return 0;
}

/* The writable layer lives in a size-limited tmpfs: the job's disk limit. */
static int mount_overlay_root(const struct setup_spec *s, const char *root)
{
	char opt[4096], upper[4096], work[4096];
	snprintf(opt, sizeof(opt), "size=%llu,mode=0755", (unsigned long long)s->disk_bytes);
	TRY(do_mount("warmbox-upper", s->mnt, "tmpfs", NOSUID_NODEV, opt));
	snprintf(upper, sizeof(upper), "%s/upper", s->mnt);
	snprintf(work, sizeof(work), "%s/work", s->mnt);
	TRY(ensure_dir(upper, 0755));
	TRY(ensure_dir(work, 0755));
	TRY(ensure_dir(root, 0755));
	char lower[3072];
	TRY(lowerdir_option(s, lower, sizeof(lower)));
	char data[8192];
	snprintf(data, sizeof(data), "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
	return do_mount("warmbox-root", root, "overlay", NOSUID_NODEV, data);
}

/* Docker's masked and read-only /proc paths: what a container must not read or write. */
static const char *const proc_masked_files[] = {
	"kcore", "keys", "timer_list", "sched_debug", "latency_stats", "sysrq-trigger", "kallsyms", NULL,
};
static const char *const proc_masked_dirs[] = { "acpi", "scsi", "asound", "firmware", NULL };
static const char *const proc_readonly[] = { "sys", "irq", "bus", "fs", NULL };

static int mask_proc(const char *proc)
{
	char path[4096];
	for (const char *const *f = proc_masked_files; *f; f++) {
		snprintf(path, sizeof(path), "%s/%s", proc, *f);
		if (access(path, F_OK) == 0)
			TRY(do_mount("/dev/null", path, NULL, MS_BIND, NULL));
	}
	for (const char *const *d = proc_masked_dirs; *d; d++) {
		snprintf(path, sizeof(path), "%s/%s", proc, *d);
		if (access(path, F_OK) == 0)
			TRY(do_mount("warmbox-mask", path, "tmpfs", MS_RDONLY | NOSUID_NODEV | MS_NOEXEC, "size=0"));
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
	char proc[4096];
	snprintf(proc, sizeof(proc), "%s/proc", root);
	TRY(ensure_dir(proc, 0555));
	TRY(do_mount("proc", proc, "proc", NOSUID_NODEV | MS_NOEXEC, NULL));
	return mask_proc(proc);
}

/* Only harmless character devices: no block devices, no tty (TIOCSTI), no kmsg. */
static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", NULL };

static int mount_dev(const char *root)
{
	char dev[4096], path[4096], target[4096];
	snprintf(dev, sizeof(dev), "%s/dev", root);
	TRY(ensure_dir(dev, 0755));
	TRY(do_mount("warmbox-dev", dev, "tmpfs", NOSUID_NODEV | MS_NOEXEC, "size=64k,mode=0755"));
	for (const char *const *n = dev_nodes; *n; n++) {
		snprintf(path, sizeof(path), "%s/%s", dev, *n);
		snprintf(target, sizeof(target), "/dev/%s", *n);
		int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
		if (fd < 0)
			return PLOG("create %s", path), -1;
		close(fd);
		TRY(do_mount(target, path, NULL, MS_BIND, NULL));
		TRY(do_mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NOEXEC, NULL));
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
	snprintf(path, sizeof(path), "%s/shm", dev);
	TRY(ensure_dir(path, 01777));
	TRY(do_mount("warmbox-shm", path, "tmpfs", NOSUID_NODEV | MS_NOEXEC, "size=16m,mode=1777"));
	return 0;
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
	TRY(mount_overlay_root(s, root));
	TRY(mount_proc(root));
	TRY(mount_dev(root));
	TRY(ensure_tmp(root));
	return pivot_into(root);
}
