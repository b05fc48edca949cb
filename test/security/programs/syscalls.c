/*
 * Tries the system calls a sandboxed job must not be able to make, one probe per argument, and
 * prints `<probe> <errno>` for each (0: the call succeeded). Probes with a parameter are written
 * `name:param`, e.g. `connect:127.0.0.1:8080`. Used by the tests in test/security/ (arguments.c
 * tries argument values of the calls a job may make).
 *
 * A probe never does harm when it succeeds where it should not: it undoes what it made, and the
 * test fails on the printed 0.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* Each probe returns 0 on success or an errno value. */
static int err(long rc) { return rc < 0 ? errno : 0; }

static pid_t sleeper(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

static void reap(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static int probe_ptrace(pid_t target)
{
	int e = err(ptrace(PTRACE_ATTACH, target, 0, 0));
	if (e == 0)
		ptrace(PTRACE_DETACH, target, 0, 0);
	return e;
}

static int probe_vm_readv(pid_t target)
{
	static char buf[16];
	static char remote[16];
	struct iovec local = { buf, sizeof(buf) }, rem = { remote, sizeof(remote) };
	return err(syscall(SYS_process_vm_readv, target, &local, 1, &rem, 1, 0));
}

static int probe_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return errno;
	int e = 0;
	if ((flags & O_ACCMODE) == O_RDONLY) {
		char b[64];
		e = err(read(fd, b, sizeof(b)));
	}
	close(fd);
	return e;
}

static int probe_clone(unsigned long flags)
{
	long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return errno;
	waitpid(pid, NULL, 0);
	return 0;
}

static int probe_clone3(uint64_t flags)
{
	struct clone_args args;
	memset(&args, 0, sizeof(args));
	args.flags = flags;
	args.exit_signal = SIGCHLD;
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return errno;
	waitpid(pid, NULL, 0);
	return 0;
}

static int probe_connect_inet(int type, const char *spec)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return EINVAL;
	memcpy(host, spec, colon - spec);
	host[colon - spec] = '\0';
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(atoi(colon + 1)) };
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return EINVAL;
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	/* A bounded connect: the job's wall limit is the backstop, this keeps the probe short. */
	struct timeval tv = { 2, 0 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int e = err(connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	if (e == 0 && type == SOCK_DGRAM)
		e = err(send(fd, "x", 1, 0));
	close(fd);
	return e;
}

static int probe_connect_abstract(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	if (n + 1 > sizeof(sa.sun_path))
		return EINVAL;
	memcpy(sa.sun_path + 1, name, n); /* sun_path[0] = 0: the abstract namespace */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int e = err(connect(fd, (struct sockaddr *)&sa, offsetof(struct sockaddr_un, sun_path) + 1 + n));
	close(fd);
	return e;
}

static int probe_mknod(const char *path, mode_t type, dev_t dev)
{
	int e = err(mknod(path, type | 0666, dev));
	if (e == 0)
		unlink(path);
	return e;
}

static int probe_setns(void)
{
	int fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	int e = err(setns(fd, 0));
	close(fd);
	return e;
}

static int probe_io_uring(void)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	long fd = syscall(SYS_io_uring_setup, 4, &p);
	if (fd >= 0)
		close(fd);
	return err(fd);
}

static int probe_bpf(void)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	if (fd >= 0)
		close(fd);
	return err(fd);
}

static int probe_perf(void)
{
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	attr.exclude_kernel = 1;
	long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
	if (fd >= 0)
		close(fd);
	return err(fd);
}

static int probe_userfaultfd(void)
{
	long fd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	return err(fd);
}

static int probe_ioctl_tiocsti(unsigned long cmd)
{
	char c = '!';
	/* Through the raw syscall: the kernel reads cmd as 32 bits, a filter must too. */
	return err(syscall(SYS_ioctl, 0, cmd, &c));
}

static int probe_open_by_handle(void)
{
	struct {
		struct file_handle h;
		unsigned char bytes[8];
	} fh;
	memset(&fh, 0, sizeof(fh));
	fh.h.handle_bytes = 8;
	fh.h.handle_type = 1;
	long fd = syscall(SYS_open_by_handle_at, AT_FDCWD, &fh.h, O_RDONLY);
	if (fd >= 0)
		close(fd);
	return err(fd);
}

static int probe_capset(void)
{
	struct { uint32_t version; int pid; } hdr = { 0x20080522, 0 };
	struct { uint32_t effective, permitted, inheritable; } data[2];
	memset(data, 0xff, sizeof(data));
	return err(syscall(SYS_capset, &hdr, data));
}

static int run_probe(const char *name)
{
	const char *arg = strchr(name, ':') ? strchr(name, ':') + 1 : "";
#define IS(n) (strcmp(name, n) == 0)
#define HAS(n) (strncmp(name, n ":", strlen(n) + 1) == 0)
	if (IS("mount"))
		return err(mount("none", "/tmp", "tmpfs", 0, NULL));
	if (IS("mount_bind"))
		return err(mount("/", "/tmp", NULL, MS_BIND, NULL));
	if (IS("fsopen")) {
		long fd = syscall(SYS_fsopen, "tmpfs", 0);
		if (fd >= 0)
			close(fd);
		return err(fd);
	}
	if (IS("open_tree")) {
		long fd = syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */);
		if (fd >= 0)
			close(fd);
		return err(fd);
	}
	if (IS("umount"))
		return err(umount2("/proc", MNT_DETACH));
	if (IS("pivot_root"))
		return err(syscall(SYS_pivot_root, "/tmp", "/tmp"));
	if (IS("chroot"))
		return err(chroot("/tmp"));
	if (IS("ptrace_init"))
		return probe_ptrace(1);
	if (IS("ptrace_child")) {
		pid_t c = sleeper();
		int e = probe_ptrace(c);
		reap(c);
		return e;
	}
	if (IS("ptrace_traceme")) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(ptrace(PTRACE_TRACEME, 0, 0, 0) < 0 ? errno : 0);
		int st = 0;
		waitpid(pid, &st, 0);
		return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
	}
	if (IS("process_vm_readv_init"))
		return probe_vm_readv(1);
	if (IS("process_vm_readv_child")) {
		pid_t c = sleeper();
		int e = probe_vm_readv(c);
		reap(c);
		return e;
	}
	if (HAS("read"))
		return probe_open(arg, O_RDONLY);
	if (HAS("write"))
		return probe_open(arg, O_WRONLY);
	if (IS("unshare_user"))
		return err(unshare(CLONE_NEWUSER));
	if (IS("unshare_mount"))
		return err(unshare(CLONE_NEWNS));
	if (IS("clone_user"))
		return probe_clone(CLONE_NEWUSER);
	if (IS("clone_user_mount"))
		return probe_clone(CLONE_NEWUSER | CLONE_NEWNS);
	if (IS("clone_net"))
		return probe_clone(CLONE_NEWNET);
	if (IS("clone_plain"))
		return probe_clone(0);
	if (HAS("clone")) /* clone:FLAGS, without CLONE_VM: the child only exits */
		return probe_clone(strtoul(arg, NULL, 0));
	if (IS("clone3_user_mount"))
		return probe_clone3(CLONE_NEWUSER | CLONE_NEWNS);
	if (IS("clone3_plain"))
		return probe_clone3(0);
	if (IS("setns"))
		return probe_setns();
	if (IS("io_uring_setup"))
		return probe_io_uring();
	if (IS("bpf"))
		return probe_bpf();
	if (IS("perf_event_open"))
		return probe_perf();
	if (IS("keyctl"))
		return err(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1));
	if (IS("add_key"))
		return err(syscall(SYS_add_key, "user", "warmbox-test", "x", 1, KEY_SPEC_SESSION_KEYRING));
	if (IS("userfaultfd"))
		return probe_userfaultfd();
	if (IS("open_by_handle_at"))
		return probe_open_by_handle();
	if (IS("mknod_char"))
		return probe_mknod("/tmp/warmbox-null", S_IFCHR, makedev(1, 3));
	if (IS("mknod_block"))
		return probe_mknod("/tmp/warmbox-sda", S_IFBLK, makedev(8, 0));
	if (IS("mknod_fifo"))
		return probe_mknod("/tmp/warmbox-fifo", S_IFIFO, 0);
	if (IS("tiocsti"))
		return probe_ioctl_tiocsti(TIOCSTI);
	if (IS("tiocsti_high_bits"))
		return probe_ioctl_tiocsti((1UL << 32) | TIOCSTI);
	if (IS("tioclinux"))
		return probe_ioctl_tiocsti(TIOCLINUX);
	if (IS("tiocsetd")) {
		int ldisc = 0; /* N_TTY: even the default line discipline is not the job's to set */
		return err(syscall(SYS_ioctl, 0, TIOCSETD, &ldisc));
	}
	if (IS("inotify_init")) {
		int fd = inotify_init1(IN_CLOEXEC);
		if (fd >= 0)
			close(fd);
		return err(fd);
	}
	if (IS("sethostname"))
		return err(sethostname("evil", 4));
	if (IS("setuid0"))
		return err(setuid(0));
	if (IS("setgid0"))
		return err(setgid(0));
	if (IS("setgroups"))
		return err(setgroups(0, NULL));
	if (IS("capset"))
		return probe_capset();
	if (IS("reboot"))
		return err(syscall(SYS_reboot, 0, 0, 0, NULL)); /* bad magic: harmless even if allowed */
	if (IS("syslog")) {
		char buf[64];
		return err(syscall(SYS_syslog, 3 /* SYSLOG_ACTION_READ_ALL */, buf, sizeof(buf)));
	}
	if (IS("init_module"))
		return err(syscall(SYS_init_module, NULL, 0, ""));
	if (IS("kexec_load"))
		return err(syscall(SYS_kexec_load, 0, 0, NULL, 0));
	if (IS("raw_socket")) {
		int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
		if (fd >= 0)
			close(fd);
		return err(fd);
	}
	if (IS("packet_socket")) {
		int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
		if (fd >= 0)
			close(fd);
		return err(fd);
	}
	if (HAS("connect"))
		return probe_connect_inet(SOCK_STREAM, arg);
	if (HAS("udp"))
		return probe_connect_inet(SOCK_DGRAM, arg);
	if (HAS("abstract"))
		return probe_connect_abstract(arg);
#ifdef __x86_64__
	if (IS("int80_write")) {
		/*
		 * The i386 ABI from a 64-bit process: the filter allows only the native one. The call
		 * is write(1, marker): if it ran, the marker is on stdout. The marker lives in a
		 * static binary's data (below 4 GiB), so an i386 call can address it.
		 */
		static const char marker[] = "INT80-WRITE-RAN\n";
		long rc;
		__asm__ volatile("int $0x80"
				 : "=a"(rc)
				 : "a"(4 /* i386 write */), "b"(1), "c"(marker), "d"(sizeof marker - 1)
				 : "memory");
		return rc < 0 ? (int)-rc : 0;
	}
	if (IS("x32_getpid"))
		return err(syscall(0x40000000 | SYS_getpid));
#endif
	fprintf(stderr, "unknown probe %s\n", name);
	exit(2);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	for (int i = 1; i < argc; i++) {
		errno = 0;
		int e = run_probe(argv[i]);
		printf("%s %d\n", argv[i], e);
	}
	return 0;
}
