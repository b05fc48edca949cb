#pragma once
/* In the sandbox's fresh network namespace: bring loopback up, nothing else (network "none"). */
int net_loopback_up(void);
