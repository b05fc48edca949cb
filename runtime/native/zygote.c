#include "zygote.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "supervise.h"

#define MAX_ID 64

static int connect_stream(const char *path, const char *id, const char *stream)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(addr.sun_path))
		return LOG("socket path too long: %s", path), -1;
	strcpy(addr.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return PLOG("socket(AF_UNIX)"), -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		PLOG("connect(%s)", path);
		close(fd);
		return -1;
	}
	char hello[MAX_ID + 16];
	int n = snprintf(hello, sizeof(hello), "%s %s\n", id, stream);
	if (write(fd, hello, n) != n) {
		PLOG("write(hello)");
		close(fd);
		return -1;
	}
	return fd;
}

/* In the forked child: the three connections become fds 0-4 (supervise.h), then it is an ordinary launcher. */
static void __attribute__((noreturn)) become_sandbox(const char *path, const char *id)
{
	static const char *const streams[] = { "control", "stdin", "output" };
	int fds[3];
	for (int i = 0; i < 3; i++) {
		int fd = connect_stream(path, id, streams[i]);
		/* Above every target number, so no dup2 below overwrites a source not yet copied. */
		if (fd < 0 || (fds[i] = fcntl(fd, F_DUPFD_CLOEXEC, 100)) < 0)
			_exit(1);
		close(fd);
	}
	int targets[][2] = { { fds[0], FD_CONTROL }, { fds[0], FD_EVENTS }, { fds[0], FD_LOG },
			     { fds[1], FD_STDIN },   { fds[2], FD_OUTPUT } };
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		if (dup2(targets[i][0], targets[i][1]) < 0)
			_exit(1);
	signal(SIGCHLD, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	_exit(sandbox_main());
}

/*
 * In the forked child: if the zygote dies, this supervisor gets SIGTERM and tears its sandbox down
 * (launcher.c), so nothing of a sandbox outlives its zygote. A zygote that died before the signal
 * was set sends nothing: then we are no longer its child.
 */
static int die_with_zygote(pid_t zygote)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0)
		return PLOG("prctl(PR_SET_PDEATHSIG)"), -1;
	if (getppid() != zygote)
		return LOG("zygote: died while forking a sandbox"), -1;
	return 0;
}

static int valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > MAX_ID)
		return 0;
	return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static void spawn_sandbox(const char *path, const char *id)
{
	if (!valid_id(id)) {
		LOG("zygote: ignoring malformed sandbox id '%.80s'", id);
		return;
	}
	pid_t zygote = getpid();
	pid_t pid = fork();
	if (pid < 0)
		PLOG("zygote: fork");
	else if (pid == 0) {
		if (die_with_zygote(zygote) < 0)
			_exit(1);
		become_sandbox(path, id);
	}
}

/*
 * A liveness probe from the worker (`?TOKEN`): connect back with the hello `TOKEN pong` and hang up.
 * It proves what a sandbox request needs: this loop reads its stdin and can reach the socket.
 */
static void answer_ping(const char *path, const char *token)
{
	if (!valid_id(token)) {
		LOG("zygote: ignoring malformed ping token '%.80s'", token);
		return;
	}
	int fd = connect_stream(path, token, "pong");
	if (fd >= 0)
		close(fd);
}

static void reap(int sigfd)
{
	struct signalfd_siginfo si;
	while (read(sigfd, &si, sizeof(si)) > 0)
		;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/*
 * A session (and process group) of our own, inherited by every supervisor we fork: a signal to the
 * worker's whole group — Ctrl-C at a terminal, kill(-pgid), a service manager's stop — reaches the
 * worker only, which then drains its jobs and tears its sandboxes down itself. Left in the worker's
 * group, SIGINT killed every supervisor without a teardown (their cgroups stayed behind) and the
 * zygote with them, under jobs the worker was still finishing. EPERM: already a group leader
 * (started with setsid), which is as good.
 */
static int leave_workers_group(void)
{
	if (setsid() < 0 && errno != EPERM)
		return PLOG("zygote: setsid"), -1;
	return 0;
}

int zygote_main(const char *socket_path)
{
	/* The worker's death kills us; one that died before this closed our stdin: EOF below ends us. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return PLOG("zygote: prctl(PR_SET_PDEATHSIG)"), 1;
	if (leave_workers_group() < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	int sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigfd < 0)
		return PLOG("signalfd"), 1;
	char buf[4096];
	size_t len = 0;
	for (;;) {
		struct pollfd fds[2] = { { 0, POLLIN, 0 }, { sigfd, POLLIN, 0 } };
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			return PLOG("zygote: poll"), 1;
		if (fds[1].revents)
			reap(sigfd);
		if (!fds[0].revents)
			continue;
		ssize_t n = read(0, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return 0; /* the worker is gone */
		len += n;
		buf[len] = '\0';
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			if (line[0] == '?')
				answer_ping(socket_path, line + 1);
			else
				spawn_sandbox(socket_path, line);
			line = nl + 1;
		}
		len = strlen(line);
		memmove(buf, line, len);
		if (len == sizeof(buf) - 1)
			len = 0; /* a line longer than any id: drop it */
	}
}
