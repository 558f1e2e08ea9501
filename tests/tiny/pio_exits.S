/* Exit round-trip micro-benchmark: N writes to an unused port, where N is
 * the decimal number on the command line rounded down to a multiple of 100
 * (0 when none), then power off.  Every write is a full exit to sardine and
 * back; the loop is unrolled so the exits dominate. */
#include "tiny.h"
#define UNUSED_PORT 0x510
	PVH_NOTE
	.text
	.code32
	.globl _start
_start:
	movl $0x80000, %esp
	movl 24(%ebx), %esi     /* hvm_start_info.cmdline_paddr */
	xorl %ecx, %ecx
1:	movzbl (%esi), %eax     /* parse the decimal count */
	subl $0x30, %eax
	cmpl $9, %eax
	ja 2f
	imull $10, %ecx
	addl %eax, %ecx
	incl %esi
	jmp 1b
2:	movl %ecx, %eax
	xorl %edx, %edx
	movl $100, %ecx
	divl %ecx
	movl %eax, %ecx
	movw $UNUSED_PORT, %dx
	xorl %eax, %eax
	jecxz 4f
3:	.rept 100
	outb %al, %dx
	.endr
	loop 3b
4:	movl $msg, %esi
	call puts
	POWEROFF
	PUTS_FN
msg:	.asciz "PIO-DONE\n"
