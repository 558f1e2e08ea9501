/* Prints a line on COM1 and powers off through ACPI S5. */
#include "tiny.h"
	PVH_NOTE
	.text
	.code32
	.globl _start
_start:
	movl $0x80000, %esp
	movl $msg, %esi
	call puts
	POWEROFF
	PUTS_FN
msg:	.asciz "TINY-HELLO\n"
