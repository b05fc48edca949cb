#include "init.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/openat2.h>
#include <time.h>
#include <unistd.h>

#include "contain.h"
#include "files.h"
#include "log.h"
#include "proc-title.h"
#include "report.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Always the whole struct: one write shorter than PIPE_BUF is atomic. */
static void send_report(const struct report *r)
{
	if (write(INIT_FD_REPORT, r, sizeof(*r)) != (ssize_t)sizeof(*r))
		_exit(111);
}

static void __attribute__((noreturn)) fail(const char *stage)
{
	struct report r = { .kind = REPORT_ERROR };
	snprintf(r.error, sizeof(r.error), "%s", stage);
	send_report(&r);
	_exit(111);
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Writes a message to the job's stderr, as a shell would when it cannot run a command. */
static void job_error(const char *fmt, const char *a, const char *b)
{
	dprintf(INIT_FD_STDERR, fmt, a, b);
}

static const char *env_path(const struct run_spec *r)
{
	for (int i = 0; i < r->envc; i++)
		if (strncmp(r->envp[i], "PATH=", 5) == 0)
			return r->envp[i] + 5;
	return DEFAULT_PATH;
}

/* execvpe() would search the launcher's PATH; the job's own PATH is the one that counts. */
static int resolve_command(const struct run_spec *r, char *out, size_t cap)
{
	const char *name = r->argv[0];
	if (strchr(name, '/')) {
		snprintf(out, cap, "%s", name);
		return 0;
	}
	int saw_eacces = 0;
	for (const char *dir = env_path(r); dir; dir = strchr(dir, ':') ? strchr(dir, ':') + 1 : NULL) {
		size_t n = strchrnul(dir, ':') - dir;
		snprintf(out, cap, "%.*s%s%s", (int)n, n ? dir : ".", "/", name);
		struct stat st;
		if (stat(out, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (access(out, X_OK) == 0)
			return 0;
		saw_eacces = 1;
	}
	return errno = saw_eacces ? EACCES : ENOENT, -1;
}

/*
 * The OOM killer must take the job, not the init that reports on it. Lowering the init's score
 * needs CAP_SYS_RESOURCE, which hosts withhold; so the init raises its own score to the maximum
 * just before it forks the job (who inherits it) and lowers it back to 0 afterwards, both
 * allowed without privileges. The fd was opened before the privileges were dropped: once the
 * init is not dumpable, its /proc files belong to root.
 */
static int oom_adj_fd = -1;

static void set_oom_score_adj(const char *value)
{
	if (pwrite(oom_adj_fd, value, strlen(value), 0) < 0)
		LOG("write(oom_score_adj, %s): %s", value, strerror(errno));
}

struct job {
	const char *path;
	const struct run_spec *run;
	struct rlimit cpu, fsize, nofile, stack, core;
	volatile int exec_errno; /* shared with the vfork child */
};

static struct rlimit clamp(rlim_t want, int resource)
{
	struct rlimit cur;
	getrlimit(resource, &cur);
	/* CAP_SYS_RESOURCE is gone (FACTS.md gotcha 9): a limit can only be lowered. */
	rlim_t v = cur.rlim_max != RLIM_INFINITY && want > cur.rlim_max ? cur.rlim_max : want;
	return (struct rlimit){ v, v };
}

static void prepare_limits(struct job *j, const struct run_spec *r)
{
	/* RLIMIT_CPU is per process, a backstop: the supervisor enforces the tree's CPU via the cgroup. */
	rlim_t cpu_s = r->cpu_ms ? (r->cpu_ms + 999) / 1000 + 1 : RLIM_INFINITY;
	j->cpu = clamp(cpu_s, RLIMIT_CPU);
	j->fsize = clamp(r->fsize_bytes ? r->fsize_bytes : RLIM_INFINITY, RLIMIT_FSIZE);
	j->nofile = clamp(r->nofile, RLIMIT_NOFILE);
	/* The job's main thread stack (and glibc's default thread stack size follows it). */
	j->stack = clamp(r->stack_bytes, RLIMIT_STACK);
	/* 1, not 0: no core file fits in a byte, and the kernel skips a core_pattern pipe (a root
	 * helper such as systemd-coredump) for exactly this value. */
	j->core = (struct rlimit){ 1, 1 };
}

/* Runs in the vfork child: only async-signal-safe calls, no allocation. */
static void __attribute__((noreturn)) job_exec(struct job *j)
{
	setsid(); /* new session, no controlling terminal: nothing for TIOCSTI to reach */
	if (dup2(INIT_FD_STDIN, 0) < 0 || dup2(INIT_FD_STDOUT, 1) < 0 || dup2(INIT_FD_STDERR, 2) < 0)
		goto fail;
	close_range(3, ~0U, 0);
	setrlimit(RLIMIT_CPU, &j->cpu);
	setrlimit(RLIMIT_FSIZE, &j->fsize);
	setrlimit(RLIMIT_NOFILE, &j->nofile);
	setrlimit(RLIMIT_STACK, &j->stack);
	setrlimit(RLIMIT_CORE, &j->core);
	execve(j->path, (char *const *)j->run->argv, (char *const *)j->run->envp);
fail:
	j->exec_errno = errno ? errno : EIO;
	_exit(127);
}

static int wait_for(pid_t job, int *status)
{
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, 0); /* PID 1 reaps every orphan, not only the job */
		if (p == job) {
			*status = st;
			return 0;
		}
		if (p < 0 && errno != EINTR)
			return -1;
	}
}

/*
 * The job's own working directory (docker run -w), after the privileges are gone: made as the
 * job's user (so only where it could make it itself), then entered through openat2 with no magic
 * link followed, so no /proc/self/fd/N can lead out of the sandbox (runc CVE-2024-21626).
 */
static int enter_workdir(const char *dir, char *err, size_t cap)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return snprintf(err, cap, "working directory %s: mkdir %s: %s", dir, path, strerror(errno)), -1;
		*p = '/';
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return snprintf(err, cap, "working directory %s: mkdir: %s", dir, strerror(errno)), -1;
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_NO_MAGICLINKS };
	int fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (fd < 0)
		return snprintf(err, cap, "working directory %s: %s", dir, strerror(errno)), -1;
	int rc = fchdir(fd);
	int saved = errno;
	close(fd);
	if (rc < 0)
		return snprintf(err, cap, "working directory %s: chdir: %s", dir, strerror(saved)), -1;
	return 0;
}

static void __attribute__((noreturn)) cannot_start(const char *err)
{
	struct report rep = { .kind = REPORT_EXIT };
	job_error("warmbox: %s%s\n", err, "");
	rep.exit.wait_status = 126 << 8;
	rep.exit.exec_errno = EIO;
	send_report(&rep);
	for (;;)
		pause();
}

static void __attribute__((noreturn)) run_job(const struct run_spec *r)
{
	struct report rep = { .kind = REPORT_EXIT };
	char path[4096], err[512];
	if (r->workdir && enter_workdir(r->workdir, err, sizeof(err)) < 0)
		cannot_start(err);
	if (files_place(AT_FDCWD, r, err, sizeof(err)) < 0)
		cannot_start(err);
	struct job j = { .path = path, .run = r };
	prepare_limits(&j, r);
	int found = resolve_command(r, path, sizeof(path));
	uint64_t t0 = now_us();
	if (found < 0) {
		j.exec_errno = errno;
	} else {
		set_oom_score_adj("1000"); /* inherited by the job */
		pid_t pid = vfork();
		if (pid == 0)
			job_exec(&j);
		set_oom_score_adj("0");
		if (pid < 0 || wait_for(pid, &rep.exit.wait_status) < 0)
			j.exec_errno = errno;
	}
	rep.exit.wall_us = now_us() - t0;
	if (j.exec_errno) {
		int code = j.exec_errno == ENOENT ? 127 : 126;
		const char *why = j.exec_errno == ENOENT && !strchr(r->argv[0], '/') ? "executable file not found in $PATH"
										       : strerror(j.exec_errno);
		job_error("warmbox: exec '%s': %s\n", r->argv[0], why);
		rep.exit.wait_status = code << 8;
		rep.exit.exec_errno = j.exec_errno;
	}
	send_report(&rep);
	for (;;) /* the supervisor now kills this namespace */
		pause();
}

void init_main(const struct setup_spec *s)
{
	if (proc_title_set(INIT_TITLE) < 0) /* the job reads /proc/1/cmdline */
		fail("proc_title_set");
	int oom_fd = open("/proc/self/oom_score_adj", O_RDWR | O_CLOEXEC);
	if (oom_fd < 0)
		fail("open(/proc/self/oom_score_adj)");
	/* Above the fixed fds: contain() puts the writable layer at INIT_FD_UPPER, which dup3 would
	 * take from under a lower fd (and the job would no longer be the OOM killer's victim). */
	oom_adj_fd = fcntl(oom_fd, F_DUPFD_CLOEXEC, INIT_FD_UPPER + 1);
	if (oom_adj_fd < 0)
		fail("fcntl(oom_score_adj, F_DUPFD_CLOEXEC)");
	close(oom_fd);
	int contained = contain(s);
	if (contained < 0)
		fail(contained == CONTAIN_WORKDIR_FAILED ? "workdir" : "contain"); /* the worker tells its jobs why */
	struct report ready = { .kind = REPORT_READY };
	send_report(&ready);

	/* Parked: everything is ready; only the command is missing. */
	static struct reader in = { .fd = INIT_FD_RUN };
	static struct message msg;
	static struct run_spec run;
	if (message_read(&in, &msg) < 0 || run_spec_parse(&msg, &run) < 0)
		_exit(0); /* destroyed while parked, or a bad message (the supervisor parsed it first) */
	close(INIT_FD_RUN);
	run_job(&run);
}
