/* vCPU state at reset: CPUID, MSRs, FPU, local APIC, and for the boot vCPU
 * the entry state of the chosen boot protocol. */
#ifndef SARDINE_X86_REGS_H
#define SARDINE_X86_REGS_H

#include <stdint.h>

struct vm;
struct vcpu;

/* GDT and identity page tables in guest memory; once per boot. */
int x86_write_boot_tables(struct vm *vm);
int x86_vcpu_setup(struct vcpu *vcpu);
void x86_vcpu_dump(struct vcpu *vcpu);

/* GDT selectors: the boot protocols fix 0x10 (code) and 0x18 (data). */
#define X86_SEL_CODE32 0x08
#define X86_SEL_CODE64 0x10
#define X86_SEL_DATA 0x18
#define X86_SEL_TSS 0x20

#endif
