#include "contain.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "init.h"
#include "log.h"
#include "mnt.h"
#include "net.h"
#include "resolv.h"
#include "seccomp.h"
#include "user.h"

/*
 * If the supervisor dies, so does the sandbox: SIGKILL to its PID 1 takes every process of the
 * namespace with it. Any change of credentials clears this signal (man 2 prctl), so it is set again
 * after the uid switch, as nsjail does. A supervisor that died before it was set sends nothing, so
 * each time we check it is still there. getppid() cannot tell (a parent outside our pid namespace
 * reads as 0), but the supervisor holds the run pipe's write end until the sandbox is ready: a
 * hang-up there means it is gone.
 */
static int die_with_parent(void)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return PLOG("prctl(PR_SET_PDEATHSIG)"), -1;
	struct pollfd run = { .fd = INIT_FD_RUN, .events = POLLIN };
	if (poll(&run, 1, 0) < 0)
		return PLOG("poll(run pipe)"), -1;
	if (run.revents & (POLLHUP | POLLERR))
		return LOG("the supervisor died while the sandbox was being built"), -1;
	return 0;
}

/* FACTS.md gotchas 1 and 2: join the cgroups first, then root a cgroup namespace there. */
static int join_cgroups(const struct setup_spec *s)
{
	TRY(cgroup_driver_for(s->cgroup)->join_self(s));
	if (unshare(CLONE_NEWCGROUP) < 0)
		return PLOG("unshare(CLONE_NEWCGROUP)"), -1;
	return 0;
}

static int set_hostname(const struct setup_spec *s)
{
	if (sethostname(s->hostname, strlen(s->hostname)) < 0)
		return PLOG("sethostname(%s)", s->hostname), -1;
	return 0;
}

/*
 * Creates the working directory inside the new root (never through a host path, so an image
 * WorkingDir such as /proc/self/fd/N reaches nothing of the host: runc CVE-2024-21626) and gives
 * it to the job's user: the sandbox is single-use, its writable layer is the job's alone.
 */
static int prepare_workdir(const struct setup_spec *s)
{
	char path[4096];
	size_t len = strlen(s->workdir);
	if (len >= sizeof(path))
		return LOG("workdir too long"), -1;
	memcpy(path, s->workdir, len + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return PLOG("mkdir(%s)", path), -1;
		*p = '/';
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return PLOG("mkdir(%s)", path), -1;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return PLOG("open workdir %s", path), -1;
	int rc = fchown(fd, s->uid, s->gid) < 0 || fchdir(fd) < 0 ? -1 : 0;
	if (rc < 0)
		PLOG("fchown/fchdir workdir %s", path);
	close(fd);
	return rc;
}

/* After the uid switch: no core dumps, no /proc/1/mem for the job even though it shares our uid. */
static int not_dumpable(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return PLOG("prctl(PR_SET_DUMPABLE)"), -1;
	return 0;
}

static int new_session(void)
{
	if (setsid() < 0)
		return PLOG("setsid"), -1;
	return 0;
}

int contain(const struct setup_spec *s)
{
	TRY(die_with_parent());
	TRY(join_cgroups(s));
	TRY(new_session());
	TRY(mnt_build_root(s));
	TRY(set_hostname(s));
	TRY(net_loopback_up());
	TRY(resolv_write(s));
	if (prepare_workdir(s) < 0)
		return CONTAIN_WORKDIR_FAILED;
	TRY(user_drop_privileges(s));
	TRY(die_with_parent()); /* again: the uid switch cleared it */
	TRY(not_dumpable());
	TRY(seccomp_load_filter());
	return 0;
}
