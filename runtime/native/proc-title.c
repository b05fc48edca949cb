/*
 * The sandbox's init is a fork of the launcher, whose command line names the launcher's path and
 * the zygote's socket, and the job can read /proc/1/cmdline. prctl(PR_SET_MM) could point the
 * kernel elsewhere but needs CAP_SYS_RESOURCE, which hosts withhold (FACTS.md gotcha 9). So the
 * init overwrites argv's strings in its own memory (a copy: the supervisor keeps its own): when
 * the last byte of the argument area is not NUL, the kernel shows only the string at its start
 * (setproctitle's convention, fs/proc/base.c get_mm_proctitle), so the title is all that shows;
 * not even the length of the original arguments.
 */
#include "proc-title.h"

#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "log.h"

static char *args_start, *args_end, *env_end;

void proc_title_init(int argc, char **argv)
{
	if (argc < 1)
		return;
	args_start = argv[0];
	args_end = env_end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
	/* The environment's strings follow the arguments': cleared too, as far as they are contiguous. */
	for (char **e = environ; *e && *e == env_end; e++)
		env_end += strlen(*e) + 1;
}

int proc_title_set(const char *title)
{
	size_t room = args_end - args_start;
	if (!args_start || room < 2)
		return LOG("no argument area to write the process title in"), -1;
	memset(args_start, 0, env_end - args_start);
	size_t len = strnlen(title, room - 2);
	memcpy(args_start, title, len);
	args_end[-1] = ' '; /* not NUL: the kernel then reads the title up to its NUL, nothing more */
	if (prctl(PR_SET_NAME, title, 0, 0, 0) < 0)
		return PLOG("prctl(PR_SET_NAME, %s)", title), -1;
	return 0;
}
