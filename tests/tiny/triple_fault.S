/* Triple faults on purpose: an empty IDT turns a divide error into a
 * shutdown.  sardine must report it and exit non-zero. */
#include "tiny.h"
	PVH_NOTE
	.text
	.code32
	.globl _start
_start:
	movl $0x80000, %esp
	lidt idt_null
	xorl %ecx, %ecx
	divl %ecx
	hlt
idt_null:
	.word 0
	.long 0
