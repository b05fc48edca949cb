/*
 * warmbox-launcher: makes one single-use sandbox, parks it, runs one command in it, reports.
 *
 *   supervisor (this process, root, host namespaces)
 *     └─ init (PID 1 of fresh mount/pid/net/ipc/uts/cgroup namespaces, unprivileged, seccomp)
 *          └─ the job
 *
 * Policy (paths, limits, ids) comes from the TypeScript side in the setup and run messages
 * (spec.h); this program only carries it out, failing fast with the failing call named.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"
#include "cgroup.h"
#include "init.h"
#include "log.h"
#include "host-file.h"
#include "mnt.h"
#include "net-veth.h"
#include "proc-title.h"
#include "report.h"
#include "run-forward.h"
#include "spec.h"
#include "supervise.h"
#include "zygote.h"

#define NAMESPACES (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)

static void event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void event(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && write(FD_EVENTS, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0)
		PLOG("write(events)");
}

/* Moves the pipe ends the init needs to fixed numbers (init.h) and closes everything else. */
static void child_fds(int fds[INIT_FD_COUNT])
{
	int devnull = open("/dev/null", O_RDWR);
	fds[0] = fds[1] = devnull; /* the control and event sockets are the supervisor's alone */
	fds[2] = FD_LOG;
	int tmp[INIT_FD_COUNT];
	for (int i = 0; i < INIT_FD_COUNT; i++)
		tmp[i] = fcntl(fds[i], F_DUPFD, 100);
	for (int i = 0; i < INIT_FD_COUNT; i++)
		if (dup2(tmp[i], i) < 0)
			_exit(112);
	close_range(INIT_FD_COUNT, ~0U, 0);
}

struct pipes {
	int in[2], out[2], err[2], report[2], run[2];
};

static int make_pipes(struct pipes *p)
{
	int *all[] = { p->in, p->out, p->err, p->report, p->run };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (pipe2(all[i], O_CLOEXEC) < 0)
			return PLOG("pipe2"), -1;
	return 0;
}

/*
 * The sandbox this supervisor owns, for the teardown on SIGTERM (on_terminate). The clone writes
 * the init's pid here (CLONE_PARENT_SETTID) before any signal handler can run after it.
 */
static struct setup_spec spec;
static volatile pid_t init_pid = -1;

static pid_t start_init(const struct setup_spec *s, struct pipes *p)
{
	pid_t pid = syscall(SYS_clone, NAMESPACES | SIGCHLD | CLONE_PARENT_SETTID, NULL, (pid_t *)&init_pid, NULL, NULL);
	if (pid < 0) {
		PLOG("clone(namespaces)");
		return -1;
	}
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL); /* the supervisor's teardown is not the init's */
		int fds[INIT_FD_COUNT] = { 0, 0, 0, p->in[0], p->out[1], p->err[1], p->report[1], p->run[0] };
		child_fds(fds);
		init_main(s);
	}
	close(p->in[0]);
	close(p->out[1]);
	close(p->err[1]);
	close(p->report[1]);
	close(p->run[0]);
	return pid;
}

/* Waits for the init's first report: parked, or why it could not be. */
static int wait_ready(int report_fd)
{
	struct report r;
	ssize_t n;
	do
		n = read(report_fd, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	if (n > 0 && r.kind == REPORT_READY)
		return 0;
	if (n == sizeof(r) && r.kind == REPORT_ERROR)
		event("error setup: %.*s failed (see the launcher's log)\n", (int)strnlen(r.error, sizeof(r.error)), r.error);
	else
		event("error setup: the sandbox's init died during setup\n");
	return -1;
}

static const char *hit_name(enum limit_hit h)
{
	static const char *const names[] = { "none", "wall", "cpu", "output", "cancel" };
	return names[h];
}

/* A capture's layer, as the host reaches it: this process's fd (capture.h). */
static void report_capture(int upper)
{
	if (upper >= 0)
		event("capture path=/proc/%d/fd/%d\n", (int)getpid(), upper);
}

static void report_result(const struct setup_spec *s, const struct outcome *o)
{
	struct cgroup_usage u = { 0 };
	cgroup_driver_for(s->cgroup)->usage(s, &u);
	const char *status = !o->exited_report ? "killed" : WIFSIGNALED(o->wait_status) ? "signaled" : "exited";
	int code = o->exited_report && WIFEXITED(o->wait_status) ? WEXITSTATUS(o->wait_status) : -1;
	int sig = o->exited_report && WIFSIGNALED(o->wait_status) ? WTERMSIG(o->wait_status) : 0;
	event("result status=%s code=%d signal=%d exec_errno=%d wall_us=%" PRIu64 " cpu_us=%" PRIu64
	      " memory_peak_bytes=%" PRIu64 " oom_kills=%" PRIu64 " limit=%s output_bytes=%" PRIu64
	      " truncated=%s\n",
	      status, code, sig, o->exec_errno, o->wall_us, u.cpu_us, u.memory_peak_bytes, u.oom_kills,
	      hit_name(o->hit), o->stdout_bytes + o->stderr_bytes, o->truncated);
}

/*
 * Kills the whole sandbox: SIGKILL to its PID 1 takes every process of the namespace with it.
 * Returns 0 once its cgroups are gone, -1 when one is left (logged).
 */
static int destroy(const struct setup_spec *s, pid_t init)
{
	if (init > 0) {
		kill(init, SIGKILL);
		while (waitpid(init, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (s->net_veth)
		net_veth_remove(s);
	return cgroup_driver_for(s->cgroup)->destroy(s);
}

/*
 * The end of a supervisor that did not die: the sandbox destroyed, and `gone` said when its
 * cgroups are removed, so that the worker need not look for them (a stat per cgroup directory, each
 * waiting on the kernel's cgroup lock while other sandboxes' cgroups come and go).
 */
static void tear_down(const struct setup_spec *s, pid_t init)
{
	if (destroy(s, init) == 0)
		event("gone\n");
}

/* Our parent when we started: the zygote, whose death is what a SIGTERM usually means. */
static pid_t parent_at_start;

/*
 * SIGTERM: the parent-death signal the zygote arms (zygote.c), or an operator's stop. Tears the
 * sandbox down as if the worker had hung up, says why, and exits. It makes system calls (kill,
 * waitpid, open, write, rmdir, nanosleep) and formats paths into stack buffers, takes no lock and
 * allocates nothing, and never returns to the code it interrupted.
 */
static void on_terminate(int sig)
{
	(void)sig;
	destroy(&spec, init_pid);
	const char *why = getppid() != parent_at_start
		? "error launcher: the launcher zygote died; the sandbox was torn down\n"
		: "error launcher: the supervisor got SIGTERM; the sandbox was torn down\n";
	ssize_t n = write(FD_EVENTS, why, strlen(why));
	(void)n; /* exiting either way */
	_exit(1);
}

static int tear_down_on_sigterm(void)
{
	parent_at_start = getppid();
	struct sigaction sa = { .sa_handler = on_terminate };
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0)
		return PLOG("sigaction(SIGTERM)"), -1;
	return 0;
}

/* The control fd's reader: the setup and run messages may arrive in one read. */
static struct reader control = { .fd = FD_CONTROL };

/*
 * The sandbox's init (init.c) lives in its pids cgroup too: the limit is the job's processes plus
 * it, added here only (the messages carry the job's own number).
 */
#define INIT_PROCESSES 1

/* Limits in force on the sandbox's cgroups; a new cgroup has none. */
static struct cgroup_limits limits = CGROUP_LIMITS_NONE;

/*
 * Parked: waits for the run message, or for the init to die (killed by an operator, say), so that
 * a dead sandbox closes its connection and is never handed a job. Returns 1 when the message is there.
 */
static int park(int report_fd)
{
	while (control.start == control.end) {
		struct pollfd fds[2] = { { FD_CONTROL, POLLIN, 0 }, { report_fd, POLLIN, 0 } };
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			return PLOG("poll(parked)"), -1;
		if (fds[0].revents)
			return 1;
		if (fds[1].revents) {
			event("error parked: the sandbox's init died while parked\n");
			return -1;
		}
	}
	return 1;
}

/* From the run message on, the worker may send a kill byte at any time, even after the job's end. */
static int run_received;

static int run(const struct setup_spec *s, pid_t init, struct pipes *p)
{
	static struct message msg;
	static struct run_spec r;
	if (park(p->report[0]) < 0)
		return -1;
	if (message_read(&control, &msg) < 0)
		return errno ? -1 : 0; /* EOF while parked: destroyed unused */
	run_received = 1;
	if (run_spec_parse(&msg, &r) < 0) {
		event("error run: bad run message (see the launcher's log)\n");
		return -1;
	}
	struct cgroup_limits want = {
		.memory_bytes = r.memory_bytes,
		.pids = r.pids + INIT_PROCESSES,
		.cpu_quota_us = r.cpu_quota_us,
		.cpu_period_us = r.cpu_period_us,
	};
	if (cgroup_apply(s, &limits, &want) < 0) {
		event("error run: setting cgroup limits failed\n");
		return -1;
	}
	off_t stdin_size;
	int stdin_source = r.stdin_file ? host_file_open(r.stdin_file, &stdin_size) : FD_STDIN;
	if (stdin_source < 0) {
		event("error run: the job's stdin file cannot be opened (see the launcher's log)\n");
		return -1;
	}
	if (run_forward(p->run[1], &msg) < 0) {
		event("error run: the run message could not be sent to the sandbox's init (see the launcher's log)\n");
		return -1;
	}
	close(p->run[1]);
	struct sandbox_pipes sp = {
		.stdin_source = stdin_source,
		.job_stdin = p->in[1],
		.job_stdout = p->out[0],
		.job_stderr = p->err[0],
		.report = p->report[0],
	};
	struct outcome o = { .truncated = "none" };
	if (control.start < control.end)
		o.hit = HIT_CANCEL; /* a kill byte arrived together with the run message */
	else
		supervise(s, &r, &sp, &o);
	int upper = r.capture ? capture_take_upper(init) : -1;
	if (upper >= 0) {
		capture_reap_init(init); /* nothing of the job may change the layer while it is copied */
		init_pid = -1;           /* reaped: the final destroy must not signal its (reusable) pid */
	} else {
		kill(init, SIGKILL); /* daemons the job left behind die now, not after the report */
	}
	drain_output(&r, &sp, &o);
	report_capture(upper);
	report_result(s, &o);
	close(FD_OUTPUT); /* the output's EOF */
	if (upper >= 0) {
		wait_for_hangup();
		close(upper);
	}
	return 0;
}

/* One sandbox's whole life, on fds 0-4 (supervise.h). */
int sandbox_main(void)
{
	signal(SIGPIPE, SIG_IGN);
	close_range(FD_OUTPUT + 1, ~0U, 0); /* FACTS.md gotcha 7: inherit nothing by accident */
	if (tear_down_on_sigterm() < 0)
		return 1;
	static struct message msg;
	struct pipes p;
	if (message_read(&control, &msg) < 0 || setup_spec_parse(&msg, &spec) < 0) {
		event("error setup: bad setup message (see the launcher's log)\n");
		return 2;
	}
	if (mnt_hold_layers(&spec) < 0) {
		event("error setup: a layer dir cannot be opened (see the launcher's log)\n");
		return 1;
	}
	const struct cgroup_driver *cg = cgroup_driver_for(spec.cgroup);
	struct cgroup_limits parked = {
		.memory_bytes = spec.memory_bytes,
		.pids = spec.pids + INIT_PROCESSES,
		.cpu_quota_us = spec.cpu_quota_us,
		.cpu_period_us = spec.cpu_period_us,
	};
	if (cg->create(&spec) < 0 || cgroup_apply(&spec, &limits, &parked) < 0) {
		event("error setup: creating cgroups failed (see the launcher's log)\n");
		cg->destroy(&spec);
		return 1;
	}
	pid_t init = make_pipes(&p) < 0 ? -1 : start_init(&spec, &p);
	/* The veth is made while the init builds the rest: the sandbox is ready only once both are done. */
	if (init >= 0 && spec.net_veth && net_veth_attach(&spec, init) < 0) {
		event("error setup: the sandbox's network could not be made (see the launcher's log)\n");
		tear_down(&spec, init);
		return 1;
	}
	if (init < 0 || wait_ready(p.report[0]) < 0) {
		tear_down(&spec, init);
		return 1;
	}
	event("ready\n");
	int rc = run(&spec, init, &p);
	tear_down(&spec, init_pid); /* -1 once a capture reaped it */
	if (run_received)
		wait_for_hangup(); /* a kill byte sent after the end must not meet a closed connection */
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	proc_title_init(argc, argv);
	if (argc == 3 && strcmp(argv[1], "--zygote") == 0)
		return zygote_main(argv[2]);
	if (argc != 1) {
		LOG("usage: warmbox-launcher            (one sandbox on fds 0-4)\n"
		    "       warmbox-launcher --zygote SOCKET  (a sandbox per id read on stdin)");
		return 2;
	}
	return sandbox_main();
}
