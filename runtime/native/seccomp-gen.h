/*
 * Build time only: the parts of the sandbox's seccomp policy, which seccomp-gen.c compiles into
 * build/seccomp-filter.h. The policy is the rules each part adds to one libseccomp context whose
 * default is to allow:
 *   seccomp-gen-syscalls.c  whole system calls refused, clone's flags, prctl options, personality
 *                           values, tty ioctls
 *   seccomp-gen-sockets.c   socket families, types and protocols; socketpair; TCP_ULP
 * and seccomp-gen.c refuses every system call newer than the last one reviewed here (ENOSYS).
 * Each part returns 0 or a negative errno of libseccomp's, having said on stderr what failed.
 */
#pragma once
#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>

/*
 * An allow-list of one argument's values: a call with any other value fails with errnum.
 * Example: socket's family (argument 0) in { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK }.
 */
struct arg_allow_list {
	const char *what; /* for messages: "socket family" */
	int syscall;
	int errnum;
	unsigned int arg;
	/*
	 * The bits of the argument the kernel reads, as 2^k - 1 (0xf: a socket's type, whose other
	 * bits are flags); 0 for the whole argument. With 0 a value with any bit above the highest
	 * allowed value is refused, also bits the kernel would ignore (an int's upper half): no caller
	 * sets those, and refusing them leaves no way around the list.
	 */
	uint64_t mask;
	const uint64_t *values; /* ascending */
	size_t count;
	/* Only where this comparison of another argument holds too (e.g. family == AF_INET); or NULL. */
	const struct scmp_arg_cmp *when;
};

#define ALLOW_LIST(array) .values = (array), .count = sizeof(array) / sizeof((array)[0])

/* seccomp-gen-args.c */
int refuse_values_outside(scmp_filter_ctx ctx, const struct arg_allow_list *list);
int refuse_bits_outside(scmp_filter_ctx ctx, const char *what, int syscall, int errnum, unsigned int arg, uint32_t allowed);

/* seccomp-gen-syscalls.c */
int add_syscall_policy(scmp_filter_ctx ctx);

/* seccomp-gen-sockets.c */
int add_socket_policy(scmp_filter_ctx ctx);
