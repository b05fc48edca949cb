#pragma once
#include "spec.h"

/*
 * Places the run's files under dirfd (the job's working directory) without following any
 * symlink or leaving the directory: openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
 * (Judge0 CVE-2024-28185/28189 followed a planted symlink). On failure, describes it in err.
 */
int files_place(int dirfd, const struct run_spec *r, char *err, size_t errlen);
