#pragma once
#include "spec.h"

/* In the sandbox's fresh mount namespace: tmpfs + overlay root, /proc, /dev, pivot_root. */
int mnt_build_root(const struct setup_spec *s);

/* In the supervisor: holds the layer dirs open for the sandbox's life (the host sees them in use). */
int mnt_hold_layers(const struct setup_spec *s);
