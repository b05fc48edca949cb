#include "capture.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"
#include "log.h"

int capture_take_upper(pid_t init)
{
	int pidfd = syscall(SYS_pidfd_open, init, 0);
	if (pidfd < 0)
		return PLOG("pidfd_open(%d)", (int)init), -1;
	int fd = syscall(SYS_pidfd_getfd, pidfd, INIT_FD_UPPER, 0);
	if (fd < 0)
		PLOG("pidfd_getfd(%d, %d)", (int)init, INIT_FD_UPPER);
	close(pidfd);
	return fd;
}

/*
 * The init is PID 1 of its namespace: once it is reaped, the kernel has killed and reaped every
 * other process of the namespace (zap_pid_ns_processes waits for them), daemons the job left included.
 */
void capture_reap_init(pid_t init)
{
	if (kill(init, SIGKILL) < 0)
		PLOG("kill(init %d)", (int)init);
	while (waitpid(init, NULL, 0) < 0 && errno == EINTR)
		;
}
