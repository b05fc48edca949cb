#pragma once
/*
 * Zygote mode: one long-lived launcher per worker forks a sandbox supervisor per request, so the
 * worker (Node) never forks itself — a fork of a big Node process blocks its event loop for
 * ~2 ms, longer than a whole sandbox takes to build.
 *
 * stdin: one sandbox id per line ([A-Za-z0-9_-], at most 64 bytes). For each, a child connects
 * three times to the unix socket SOCKET, each connection starting with the line "<id> <stream>\n",
 * stream control, stdin, then output; it then runs sandbox_main() with control on fds 0, 1 and 2,
 * stdin on 3 and output on 4 (supervise.h). EOF on stdin: the zygote exits.
 * A line "?<token>" (same alphabet) is a liveness probe: the zygote itself connects once with
 * "<token> pong\n" and hangs up (the worker's /readyz).
 *
 * Lifetimes: the zygote dies with the worker (SIGKILL as its parent-death signal, and EOF on stdin);
 * each supervisor tears its sandbox down when the zygote dies (SIGTERM as its parent-death signal).
 * The zygote starts a session of its own, so a signal to the worker's process group (Ctrl-C)
 * reaches neither it nor the supervisors: the worker stops them when it has drained its jobs.
 */
int zygote_main(const char *socket_path);

/* One sandbox on fds 0-4; defined in launcher.c. */
int sandbox_main(void);
