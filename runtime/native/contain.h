#pragma once
#include "spec.h"

/* contain() failed at the working directory: what the image (or job) asked for, not the sandbox's fault. */
#define CONTAIN_WORKDIR_FAILED (-2)

/* Everything between a fresh clone and a parked sandbox, as a checklist (nsjail's contain.cc). */
int contain(const struct setup_spec *s);
