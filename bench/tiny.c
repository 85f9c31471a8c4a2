/* The program the exec storm runs: exits 0 at once. Built static and without libc
 * (gcc -static -nostdlib) so an exec costs the kernel's work and almost nothing else:
 * no dynamic loader, no libc start-up. The storm identifies its execs by the path this
 * binary is copied to and a marker argument, not by anything this program does. */
#if defined(__x86_64__)
__attribute__((naked, noreturn)) void _start(void)
{
	__asm__ volatile("mov $60, %eax\n\t" /* __NR_exit */
			 "xor %edi, %edi\n\t"
			 "syscall\n\t");
}
#elif defined(__aarch64__)
__attribute__((naked, noreturn)) void _start(void)
{
	__asm__ volatile("mov x8, #93\n\t" /* __NR_exit */
			 "mov x0, #0\n\t"
			 "svc #0\n\t");
}
#else
#error "bench/tiny.c: add _start for this architecture"
#endif
