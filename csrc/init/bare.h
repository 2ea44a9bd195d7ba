/*
 * What nsbox-init needs of a C library, for a build without one: system
 * calls and the process entry point, on x86-64 and arm64. Started without
 * glibc, the program skips glibc's own start-up, which probes the CPU (cache
 * sizes, features) with instructions a virtual machine traps on every time:
 * measured on a Firecracker VM, an empty static glibc program took 1.0 ms to
 * run and one without glibc 0.1 ms, and nsbox-init starts with every sandbox
 * that has an init.
 *
 * The Makefile builds this way (-DNSBOX_INIT_BARE, -nostdlib) where it knows
 * the machine; elsewhere nsbox-init links libc's syscall() and main() as
 * usual. Either way sys() returns the result, or -errno.
 */
#ifndef NSBOX_INIT_BARE_H
#define NSBOX_INIT_BARE_H

#if NSBOX_INIT_BARE

#if defined(__x86_64__)
static long sys(long number, long a, long b, long c, long d)
{
	register long r10 __asm__("r10") = d;
	long result;

	__asm__ volatile("syscall"
			 : "=a"(result)
			 : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return result;
}

/* The kernel starts us with argc, argv[] at the stack pointer; the ABI wants it 16-byte aligned at a call. */
__asm__(".text\n"
	".global _start\n"
	"_start:\n"
	"	xor %ebp, %ebp\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call start_from_stack\n"
	"	hlt\n");
#elif defined(__aarch64__)
static long sys(long number, long a, long b, long c, long d)
{
	register long x8 __asm__("x8") = number;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;

	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
	return x0;
}

__asm__(".text\n"
	".global _start\n"
	"_start:\n"
	"	mov x0, sp\n"
	"	bl start_from_stack\n");
#else
#error "no bare start-up for this machine: build nsbox-init without NSBOX_INIT_BARE"
#endif

/* What _start calls: never returns. Kept by name: only the assembly calls it (link-time optimisation would drop it). */
_Noreturn void start_from_stack(long *stack) __attribute__((used));
static _Noreturn void init_main(int argc, char **argv);

_Noreturn void start_from_stack(long *stack)
{
	init_main((int)stack[0], (char **)(stack + 1));
}

#else /* with libc */

#include <errno.h>
#include <unistd.h>

static long sys(long number, long a, long b, long c, long d)
{
	long result = syscall(number, a, b, c, d);

	return result < 0 ? -errno : result;
}

static _Noreturn void init_main(int argc, char **argv);

int main(int argc, char **argv)
{
	init_main(argc, argv);
}

#endif

static _Noreturn void leave(int code)
{
	for (;;)
		sys(SYS_exit_group, code, 0, 0, 0);
}

#endif
