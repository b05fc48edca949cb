#pragma once

/* What the sandbox's init shows as /proc/1/cmdline and comm: nothing of the launcher's command line. */
#define INIT_TITLE "warmbox-init"

/* In main(): remembers where argv's strings (and the environment after them) lie in memory. */
void proc_title_init(int argc, char **argv);

/* Overwrites that memory with the title and sets the name (comm); in the init, before anything else. */
int proc_title_set(const char *title);
