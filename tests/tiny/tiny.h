/* Shared by the tiny guests (assembly, 32-bit protected mode, no paging). */
#define COM1 0x3f8
#define PM1A_CNT 0x604
#define S5_SLEEP 0x3400 /* SLP_TYP 5, SLP_EN */

/* The PVH entry note: sardine starts us at _start in 32-bit mode. */
#define PVH_NOTE                                                               \
	.pushsection .note.pvh, "a";                                           \
	.align 4;                                                              \
	.long 4; /* name size */                                               \
	.long 4; /* desc size */                                               \
	.long 18; /* XEN_ELFNOTE_PHYS32_ENTRY */                               \
	.asciz "Xen";                                                          \
	.long _start;                                                          \
	.popsection

/* Print the NUL-terminated string at %esi on COM1 (polled). */
#define PUTS_FN                                                                \
puts:                                                                          \
	movw $COM1, %dx;                                                       \
1:	lodsb;                                                                 \
	testb %al, %al;                                                        \
	jz 2f;                                                                 \
	outb %al, %dx;                                                         \
	jmp 1b;                                                                \
2:	ret

#define POWEROFF                                                               \
	movw $PM1A_CNT, %dx;                                                   \
	movw $S5_SLEEP, %ax;                                                   \
	outw %ax, %dx;                                                         \
	hlt
