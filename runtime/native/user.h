#pragma once
#include "spec.h"

/* Becomes s->uid:s->gid with no capability in any set and no way to regain one. */
int user_drop_privileges(const struct setup_spec *s);
