/*
 * System calls a job may not make at all, and the arguments of the allowed ones whose unknown
 * values are refused: clone's flags, prctl's options, personality's values. Sockets are in
 * seccomp-gen-sockets.c; system calls newer than the last one reviewed get ENOSYS (seccomp-gen.c).
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>

#include "seccomp-gen.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

/* Docker's default profile refuses these to containers without CAP_SYS_ADMIN and friends. */
static const char *const denied[] = {
	"mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
	"fsmount", "fspick", "mount_setattr", "ptrace", "process_vm_readv", "process_vm_writev",
	"kexec_load", "kexec_file_load", "bpf", "perf_event_open", "keyctl", "add_key", "request_key",
	"userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "init_module",
	"finit_module", "delete_module", "open_by_handle_at", "name_to_handle_at", "unshare", "setns",
	"swapon", "swapoff", "reboot", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"acct", "quotactl", "syslog", "lookup_dcookie", "vhangup", "iopl", "ioperm", "uselib", "sysfs",
	"_sysctl", "nfsservctl", "fanotify_init", "kcmp", "mbind", "migrate_pages",
	"move_pages", "set_mempolicy", "pidfd_getfd", "quotactl_fd", "landlock_create_ruleset",
	NULL,
};

/*
 * Newer system calls refused for reasons of their own. Since Linux 5.1 a new system call has one
 * number on every architecture: that number names it to a libseccomp older than its name.
 */
static const struct {
	const char *name;
	int nr;
} denied_newer[] = {
	{ "set_mempolicy_home_node", 450 }, /* NUMA policy, like mbind and set_mempolicy */
	/*
	 * The page-cache residency of any file the job can open, and the image's layers are shared
	 * with other jobs' sandboxes: a side channel between jobs (CVE-2025-21691).
	 */
	{ "cachestat", 451 },
	/*
	 * The mount table with its options, which name host paths: what /proc/self/mountinfo
	 * shows, through calls that no /proc mask covers. And open_tree_attr mounts.
	 */
	{ "statmount", 457 },
	{ "listmount", 458 },
	{ "open_tree_attr", 467 },
};

static int deny(scmp_filter_ctx ctx, const char *name, int nr)
{
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	if (rc)
		fprintf(stderr, "seccomp-gen: refusing %s (%d): %s\n", name, nr, strerror(-rc));
	return rc;
}

static int deny_syscalls(scmp_filter_ctx ctx)
{
	int rc = 0;
	for (const char *const *n = denied; *n && !rc; n++) {
		int nr = seccomp_syscall_resolve_name(*n);
		if (nr == __NR_SCMP_ERROR) {
			fprintf(stderr, "seccomp-gen: libseccomp does not know the system call %s (a typo?)\n", *n);
			return -ENOENT;
		}
		rc = deny(ctx, *n, nr); /* a system call this architecture lacks resolves to one libseccomp skips */
	}
	for (size_t i = 0; i < sizeof(denied_newer) / sizeof(denied_newer[0]) && !rc; i++) {
		int nr = seccomp_syscall_resolve_name(denied_newer[i].name);
		rc = deny(ctx, denied_newer[i].name, nr == __NR_SCMP_ERROR ? denied_newer[i].nr : nr);
	}
	return rc;
}

/*
 * clone: the flags of processes and threads. All 32 bits of clone's flags (the kernel reads no
 * more) are assigned, and the ones left out here are the namespaces' (CLONE_NEWNS, NEWUTS, NEWIPC,
 * NEWUSER, NEWPID, NEWNET, NEWCGROUP): a new user namespace gives the job every capability inside
 * it, the door of most container escapes. EPERM, as unshare. clone3's flags sit in memory a filter
 * cannot read: it gets ENOSYS, and libc falls back to clone.
 */
static const uint32_t clone_flags = CSIGNAL | CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_PIDFD |
				    CLONE_PTRACE | CLONE_VFORK | CLONE_PARENT | CLONE_THREAD | CLONE_SYSVSEM |
				    CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_DETACHED |
				    CLONE_UNTRACED | CLONE_CHILD_SETTID | CLONE_IO;

static int restrict_clone(scmp_filter_ctx ctx)
{
	int rc = refuse_bits_outside(ctx, "clone flags", SCMP_SYS(clone), EPERM, 0, clone_flags);
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	return rc;
}

/*
 * personality: Docker's values. PER_LINUX, PER_LINUX32 (`linux32`, `setarch i686`), UNAME26, and
 * 0xffffffff, which reads the current one. Refused (EPERM): other execution domains, and the flags
 * that undo a protection of the job's own processes, a help to an exploit of the kernel:
 * ADDR_NO_RANDOMIZE (no ASLR), READ_IMPLIES_EXEC (readable memory executable), MMAP_PAGE_ZERO
 * (page 0 mapped at exec, what a kernel NULL-pointer exploit wants; CVE-2009-1895).
 */
static const uint64_t personalities[] = { PER_LINUX, PER_LINUX32, UNAME26, UNAME26 | PER_LINUX32, 0xffffffff };

/*
 * prctl options: each is kernel code of its own and new ones come with most releases, so the
 * options reviewed here are allowed and any other gets EINVAL, the answer of a kernel that lacks
 * it (every caller copes: options are added all the time). Left out:
 *   35 PR_SET_MM, 57/58 PR_{SET,GET}_IO_FLUSHER   need CAP_SYS_RESOURCE (checkpoint/restore, I/O)
 *   43/44 PR_MPX_*                                 removed from the kernel
 *   62 PR_SCHED_CORE                               core-scheduling cookies across processes
 *   67/68 PR_{SET,GET}_MEMORY_MERGE                KSM: page deduplication is a side channel
 *   69-73                                          RISC-V and PowerPC options
 *   77 PR_TIMER_CREATE_RESTORE_IDS, 78 PR_FUTEX_HASH, and later ones   not reviewed yet
 *   0x53564d41 PR_SET_VMA                          names anonymous memory in /proc/self/maps, which
 *                                                  its callers (Go, glibc) do best-effort: kernels
 *                                                  without CONFIG_ANON_VMA_NAME refuse it alike.
 *                                                  (Allowing a value far above the others would
 *                                                  cost ~45 rules: see seccomp-gen-args.c.)
 *   0x59616d61 PR_SET_PTRACER                      Yama's, moot: ptrace is refused
 */
static const uint64_t prctl_options[] = {
	1, 2, 3, 4, 5, 6, 7, 8,         /* PDEATHSIG, DUMPABLE, UNALIGN, KEEPCAPS (get and set) */
	9, 10, 11, 12, 13, 14, 15, 16,  /* FPEMU, FPEXC, TIMING, NAME */
	19, 20, 21, 22, 23, 24,         /* ENDIAN, SECCOMP (a job may sandbox itself further), CAPBSET */
	25, 26, 27, 28, 29, 30,         /* TSC, SECUREBITS (locked), TIMERSLACK */
	31, 32, 33, 34,                 /* TASK_PERF_EVENTS_{DISABLE,ENABLE}, MCE_KILL{,_GET} */
	36, 37, 38, 39, 40, 41, 42,     /* CHILD_SUBREAPER, NO_NEW_PRIVS, GET_TID_ADDRESS, THP_DISABLE */
	45, 46, 47,                     /* FP_MODE, CAP_AMBIENT (nothing to raise) */
	50, 51, 52, 53, 54, 55, 56,     /* SVE_*_VL, SPECULATION_CTRL, PAC_RESET_KEYS, TAGGED_ADDR_CTRL */
	59, 60, 61,                     /* SYSCALL_USER_DISPATCH (Wine), PAC_*_ENABLED_KEYS */
	63, 64, 65, 66,                 /* SME_*_VL, MDWE (memory-deny-write-execute) */
	74, 75, 76,                     /* {GET,SET,LOCK}_SHADOW_STACK_STATUS */
};

/*
 * ioctl requests are per driver and programs use many (terminal queries, FIONREAD, filesystem
 * ioctls): no allow-list. What bounds them is what a job can open: /dev holds null, zero, full,
 * random and urandom, and the job has no terminal. If a terminal were ever reachable, these are
 * what turn one into an attack: TIOCSTI pushes input into it (bubblewrap CVE-2017-5226),
 * TIOCLINUX is its console twin, TIOCSETD loads a line discipline (n_hdlc CVE-2017-2636, n_gsm
 * CVE-2023-6546). The kernel reads the request as 32 bits: so does the rule.
 */
static const unsigned long tty_ioctls[] = { TIOCSTI, TIOCLINUX, TIOCSETD };

static int deny_tty_ioctls(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < sizeof(tty_ioctls) / sizeof(tty_ioctls[0]); i++) {
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
					  SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, tty_ioctls[i]));
		if (rc) {
			fprintf(stderr, "seccomp-gen: ioctl 0x%lx: %s\n", tty_ioctls[i], strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static const struct arg_allow_list value_lists[] = {
	{ .what = "personality", .syscall = SCMP_SYS(personality), .errnum = EPERM, .arg = 0, ALLOW_LIST(personalities) },
	{ .what = "prctl option", .syscall = SCMP_SYS(prctl), .errnum = EINVAL, .arg = 0, ALLOW_LIST(prctl_options) },
};

int add_syscall_policy(scmp_filter_ctx ctx)
{
	int rc = deny_syscalls(ctx);
	if (!rc)
		rc = restrict_clone(ctx);
	for (size_t i = 0; i < sizeof(value_lists) / sizeof(value_lists[0]) && !rc; i++)
		rc = refuse_values_outside(ctx, &value_lists[i]);
	if (!rc)
		rc = deny_tty_ioctls(ctx);
	return rc;
}
