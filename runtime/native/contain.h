#pragma once
#include "spec.h"

/* Everything between a fresh clone and a parked sandbox, as a checklist (nsjail's contain.cc). */
int contain(const struct setup_spec *s);
