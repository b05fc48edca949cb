/*
 * hello: the program of warmbox's hello-world image. It says what warmbox just did to run it.
 *
 * No libc: a static binary of a few hundred bytes of code that starts in microseconds (a glibc
 * program pays ~350 µs of start-up on these VMs, see FACTS.md), using two raw system calls.
 * Built by the Makefile beside it with `gcc -static -nostdlib -Os`.
 */

static const char message[] =
	"\n"
	"Hello from warmbox!\n"
	"This message shows that your installation appears to be working correctly.\n"
	"\n"
	"To generate this message, warmbox took the following steps:\n"
	" 1. The warmbox CLI asked the warmbox server, over HTTP, to run the \"hello-world\" image.\n"
	" 2. The server found the \"hello-world\" image in its snapshot store.\n"
	" 3. A worker took a pre-warmed (or freshly made) sandbox of that image: fresh Linux\n"
	"    namespaces, an overlay of the image's layers, cgroup limits and an unprivileged user.\n"
	"    It ran this program in it, which produced the output you are reading.\n"
	" 4. The server streamed that output back to the warmbox CLI, which sent it to your terminal.\n"
	"\n"
	"To try something more ambitious, run a shell command in a busybox sandbox:\n"
	" $ warmbox run busybox -- sh -c 'echo hi'\n"
	"\n"
	"For the HTTP API, limits, and more examples, see warmbox's README.md.\n"
	"\n";

#if defined(__x86_64__)
#define SYS_write 1
#define SYS_exit_group 231

static long syscall3(long number, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(number), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
#define SYS_write 64
#define SYS_exit_group 94

static long syscall3(long number, long a, long b, long c)
{
	register long x8 __asm__("x8") = number;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	__asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
	return x0;
}
#else
#error "hello.c knows the system calls of x86_64 and aarch64 only"
#endif

__attribute__((noreturn)) static void exit_group(int status)
{
	for (;;)
		syscall3(SYS_exit_group, status, 0, 0);
}

/* The kernel enters here; there is no return address to go back to. */
__attribute__((noreturn, used)) void _start(void)
{
	const char *p = message;
	long left = sizeof message - 1;

	while (left > 0) {
		long n = syscall3(SYS_write, 1, (long)p, left);
		if (n == -4) /* -EINTR */
			continue;
		if (n <= 0)
			exit_group(1);
		p += n;
		left -= n;
	}
	exit_group(0);
}
