/* Prints "TICK <hex count>" on COM1 about every 100 ms (timed by the ACPI
 * PM timer), forever; when the ACPI power button is pressed, prints
 * TINY-POWER-BUTTON and powers off.  For pause/resume, counters and
 * power-button tests of the API on any KVM. */
#include "tiny.h"
#define PM1_STS 0x600
#define PM_TMR 0x608
#define PWRBTN_STS 0x100
#define TICKS_100MS 357954 /* the PM timer runs at 3.579545 MHz */
	PVH_NOTE
	.text
	.code32
	.globl _start
_start:
	movl $0x80000, %esp
	xorl %edi, %edi
	movl $start_msg, %esi
	call puts
tick:
	movl $tick_msg, %esi
	call puts
	movl %edi, %eax
	call puthex
	incl %edi
	/* Wait 100 ms, watching the power button. */
	movw $PM_TMR, %dx
	inl %dx, %eax
	movl %eax, %ebx
1:	movw $PM1_STS, %dx
	inw %dx, %ax
	testw $PWRBTN_STS, %ax
	jnz button
	movw $PM_TMR, %dx
	inl %dx, %eax
	subl %ebx, %eax
	cmpl $TICKS_100MS, %eax
	jb 1b
	jmp tick
button:
	movl $button_msg, %esi
	call puts
	POWEROFF

/* %eax as 8 hex digits and a newline. */
puthex:
	movl %eax, %ebx
	movl $8, %ecx
	movw $COM1, %dx
2:	roll $4, %ebx
	movl %ebx, %eax
	andl $15, %eax
	movb hexdigits(%eax), %al
	outb %al, %dx
	loop 2b
	movb $10, %al
	outb %al, %dx
	ret

	PUTS_FN
start_msg:	.asciz "TINY-COUNTER\n"
tick_msg:	.asciz "TICK "
button_msg:	.asciz "TINY-POWER-BUTTON\n"
hexdigits:	.ascii "0123456789abcdef"
