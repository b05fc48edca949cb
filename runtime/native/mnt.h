#pragma once
#include "spec.h"

/* In the sandbox's fresh mount namespace: tmpfs + overlay root, /proc, /dev, pivot_root. */
int mnt_build_root(const struct setup_spec *s);
