#pragma once
/*
 * Network "bridge": the sandbox's veth pair, made by its supervisor (root, host namespaces) while
 * the init builds the rest. The host end joins the worker's bridge as an isolated port (no frame
 * reaches another sandbox's port); the other end is the sandbox's eth0, with its address and a
 * default route via the bridge. The bridge, the firewall and the addresses are the worker's
 * (runtime/sandbox-network.ts); this file only plugs one sandbox in and out.
 */
#include <sys/types.h>

#include "spec.h"

/* Makes the pair, the host end in s->net_bridge, eth0 configured in the init's network namespace. */
int net_veth_attach(const struct setup_spec *s, pid_t init);
/* Deletes the pair (both ends go together); a pair already gone is fine. Async-signal-safe. */
void net_veth_remove(const struct setup_spec *s);
