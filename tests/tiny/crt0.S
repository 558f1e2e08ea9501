/* Entry of the tiny guests written in C: a stack, then main(start_info). */
#include "tiny.h"
	PVH_NOTE
	.text
	.code32
	.globl _start
_start:
	movl $0x80000, %esp
	pushl %ebx              /* struct hvm_start_info * */
	call main
	movw $PM1A_CNT, %dx
	movw $S5_SLEEP, %ax
	outw %ax, %dx
1:	hlt
	jmp 1b
	.section .note.GNU-stack,"",@progbits
