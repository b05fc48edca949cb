#pragma once
/*
 * Network "bridge": the sandbox's /etc/resolv.conf names the resolvers the worker chose
 * (runtime/host-resolvers.ts), written by the init inside the new root before it drops root,
 * without following any link the image put there. Network "none" keeps the image's own file.
 */
#include "spec.h"

int resolv_write(const struct setup_spec *s);
