#pragma once
/* Loads the prebuilt filter (build/seccomp-filter.h); needs no_new_privs set first. */
int seccomp_load_filter(void);
