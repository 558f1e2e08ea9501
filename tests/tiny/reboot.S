/* Prints a line, then asks for a reset through the FADT reset register.
 * sardine boots it again, or exits with --no-reboot. */
#include "tiny.h"
#define ACPI_RESET_REG 0x60c
	PVH_NOTE
	.text
	.code32
	.globl _start
_start:
	movl $0x80000, %esp
	movl $msg, %esi
	call puts
	movw $ACPI_RESET_REG, %dx
	movb $1, %al
	outb %al, %dx
	hlt
	PUTS_FN
msg:	.asciz "TINY-BOOT\n"
