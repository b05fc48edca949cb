#include "supervise.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "report.h"
#include "wire-output.h"

/* How often the cgroup's CPU time is read while a CPU limit is set (ms). */
#define CPU_POLL_MS 10

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/* A job stream, its frames' channel and its cap: stdout's is output_bytes, stderr's stderr_bytes. */
struct stream {
	int from;
	unsigned char channel;
	const char *name;
	uint64_t cap;
	uint64_t *relayed;
};

static struct stream stdout_stream(const struct run_spec *r, struct sandbox_pipes *p, struct outcome *o)
{
	return (struct stream){ .from = p->job_stdout, .channel = OUTPUT_CHANNEL_STDOUT, .name = "stdout",
				.cap = r->output_bytes, .relayed = &o->stdout_bytes };
}

static struct stream stderr_stream(const struct run_spec *r, struct sandbox_pipes *p, struct outcome *o)
{
	return (struct stream){ .from = p->job_stderr, .channel = OUTPUT_CHANNEL_STDERR, .name = "stderr",
				.cap = r->stderr_bytes, .relayed = &o->stderr_bytes };
}

/* One frame of the output connection (launcher-wire.json "output"): the header before the payload, one write. */
static int write_frame(unsigned char channel, char *frame, size_t payload)
{
	frame[0] = (char)channel;
	for (int i = 0; i < 4; i++)
		frame[1 + i] = (char)(payload >> (8 * (3 - i)));
	return write_all(FD_OUTPUT, frame, OUTPUT_FRAME_HEADER_BYTES + payload);
}

/*
 * Moves what is readable from a job pipe to the output connection as a frame, never past the stream's
 * cap. Returns 2 when it moved bytes, 1 when nothing was readable, 0 at EOF, -1 when the output
 * limit was hit or the worker went away.
 */
static int relay_output(struct stream st, struct outcome *o)
{
	char frame[OUTPUT_FRAME_HEADER_BYTES + OUTPUT_FRAME_MAX_PAYLOAD];
	char *buf = frame + OUTPUT_FRAME_HEADER_BYTES;
	ssize_t n = read(st.from, buf, OUTPUT_FRAME_MAX_PAYLOAD);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 1;
	if (n <= 0)
		return 0;
	uint64_t room = st.cap - *st.relayed;
	size_t take = (uint64_t)n > room ? room : (size_t)n;
	if (take && write_frame(st.channel, frame, take) < 0) {
		o->hit = HIT_CANCEL; /* the worker stopped reading: it is gone */
		return -1;
	}
	*st.relayed += take;
	if (take < (size_t)n) {
		if (o->hit == HIT_NONE)
			o->hit = HIT_OUTPUT;
		o->truncated = st.name;
		return -1;
	}
	return 2;
}

struct stdin_relay {
	char buf[65536];
	size_t len, off;
	int src_open;
	int from_file; /* the source is a host file (a blob): spliced into the pipe, never through buf */
};

/* Whether the job's stdin pipe is to be polled for room: bytes are waiting in buf, or a file is being spliced. */
static int stdin_wants_room(const struct stdin_relay *in)
{
	return in->off < in->len || (in->from_file && in->src_open);
}

/* A host file to the job's stdin: page cache to pipe in the kernel, no copy through this process. */
static void splice_stdin(struct sandbox_pipes *p, struct stdin_relay *in, short dst_ready)
{
	if (!(dst_ready & (POLLOUT | POLLERR)))
		return;
	ssize_t n = splice(p->stdin_source, NULL, p->job_stdin, NULL, 1 << 20, SPLICE_F_NONBLOCK);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		in->src_open = 0; /* the end of the file, or the job closed its stdin (EPIPE) */
}

/* Feeds the job's stdin from its source (the worker's socket, or a host file); a job that never reads only fills the pipe. */
static void relay_stdin(struct sandbox_pipes *p, struct stdin_relay *in, short src_ready, short dst_ready)
{
	if (in->from_file)
		splice_stdin(p, in, dst_ready);
	else if (in->off == in->len && (src_ready & (POLLIN | POLLHUP))) {
		ssize_t n = read(p->stdin_source, in->buf, sizeof(in->buf));
		if (n <= 0 && !(n < 0 && errno == EINTR)) {
			in->src_open = 0;
		} else if (n > 0) {
			in->len = n;
			in->off = 0;
		}
	}
	if (in->off < in->len && (dst_ready & POLLOUT)) {
		ssize_t n = write(p->job_stdin, in->buf + in->off, in->len - in->off);
		if (n > 0)
			in->off += n;
		else if (n < 0 && errno == EPIPE)
			in->src_open = 0, in->off = in->len; /* the job closed its stdin */
	}
	if (!in->src_open && in->off == in->len && p->job_stdin >= 0) {
		close(p->job_stdin);
		p->job_stdin = -1;
	}
}

static int read_exit_report(struct sandbox_pipes *p, struct outcome *o)
{
	struct report rep;
	ssize_t n = read(p->report, &rep, sizeof(rep));
	if (n < 0 && errno == EINTR)
		return 0;
	if (n == sizeof(rep) && rep.kind == REPORT_EXIT) {
		o->exited_report = 1;
		o->wait_status = rep.exit.wait_status;
		o->exec_errno = rep.exit.exec_errno;
		o->wall_us = rep.exit.wall_us;
	} else {
		LOG("the sandbox's init ended without reporting the job's status");
	}
	return 1;
}

static int poll_timeout_ms(const struct run_spec *r, uint64_t deadline_us)
{
	uint64_t now = now_us();
	int ms = now >= deadline_us ? 0 : (int)((deadline_us - now + 999) / 1000);
	return r->cpu_ms && ms > CPU_POLL_MS ? CPU_POLL_MS : ms;
}

static int cpu_exceeded(const struct setup_spec *s, const struct run_spec *r)
{
	uint64_t cpu_us;
	if (!r->cpu_ms || cgroup_driver_for(s->cgroup)->cpu_us(s, &cpu_us) < 0)
		return 0;
	return cpu_us >= r->cpu_ms * 1000;
}

void supervise(const struct setup_spec *s, const struct run_spec *r, struct sandbox_pipes *p,
	       struct outcome *o)
{
	struct stdin_relay in = { .src_open = 1, .from_file = p->stdin_source != FD_STDIN };
	uint64_t start = now_us(), deadline = start + r->wall_ms * 1000;
	int out_open = 1, err_open = 1;
	fcntl(p->job_stdin, F_SETFL, O_NONBLOCK);
	for (;;) {
		struct pollfd fds[6] = {
			{ FD_CONTROL, POLLIN, 0 },
			{ p->report, POLLIN, 0 },
			{ out_open ? p->job_stdout : -1, POLLIN, 0 },
			{ err_open ? p->job_stderr : -1, POLLIN, 0 },
			{ in.src_open && !in.from_file && in.off == in.len ? p->stdin_source : -1, POLLIN, 0 },
			{ stdin_wants_room(&in) ? p->job_stdin : -1, POLLOUT, 0 },
		};
		int n = poll(fds, 6, poll_timeout_ms(r, deadline));
		if (n < 0 && errno != EINTR) {
			PLOG("poll");
			o->hit = HIT_CANCEL;
			break;
		}
		if (fds[0].revents) { /* a kill request, or the worker is gone */
			o->hit = HIT_CANCEL;
			break;
		}
		if (fds[2].revents && (n = relay_output(stdout_stream(r, p, o), o)) <= 0) {
			if (n < 0)
				break;
			out_open = 0;
		}
		if (fds[3].revents && (n = relay_output(stderr_stream(r, p, o), o)) <= 0) {
			if (n < 0)
				break;
			err_open = 0;
		}
		if (p->job_stdin >= 0)
			relay_stdin(p, &in, fds[4].revents, fds[5].revents);
		if (fds[1].revents && read_exit_report(p, o))
			break;
		if (now_us() >= deadline) {
			o->hit = HIT_WALL;
			break;
		}
		if (cpu_exceeded(s, r)) {
			o->hit = HIT_CPU;
			break;
		}
	}
	if (!o->exited_report)
		o->wall_us = now_us() - start;
}

void drain_output(const struct run_spec *r, struct sandbox_pipes *p, struct outcome *o)
{
	if (o->hit == HIT_CANCEL)
		return;
	fcntl(p->job_stdout, F_SETFL, O_NONBLOCK);
	fcntl(p->job_stderr, F_SETFL, O_NONBLOCK);
	/* Each stream has its own cap: one cut at its cap still leaves the other's bytes to keep. */
	if (strcmp(o->truncated, "stdout") != 0)
		while (relay_output(stdout_stream(r, p, o), o) == 2)
			;
	if (strcmp(o->truncated, "stderr") != 0)
		while (relay_output(stderr_stream(r, p, o), o) == 2)
			;
}

void wait_for_hangup(void)
{
	char buf[256];
	for (;;) {
		ssize_t n = read(FD_CONTROL, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EINTR))
			return;
	}
}
