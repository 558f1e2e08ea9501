/* Hooks the neutral VMM code calls into the architecture (src/arch/x86). */
#ifndef SARDINE_ARCH_H
#define SARDINE_ARCH_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vcpu;
struct vm_config;

/* Check the user's kernel/initrd files before anything is created.  Logs one
 * line and returns -errno when they are unusable. */
int arch_validate_config(const struct vm_config *cfg, bool *guest_is_linux);
/* Guest memory layout for this architecture. */
void arch_memory_layout(const struct vm_config *cfg, uint64_t *hole_start, uint64_t *hole_end);
/* In-kernel irqchip, PIT, and the like; after memory is registered. */
int arch_vm_init(struct vm *vm);
/* The platform's own devices (UART, RTC, ...), torn down by arch_vm_destroy. */
int arch_create_devices(struct vm *vm);
/* Kernel, initrd, command line, boot tables (e820, ACPI). */
int arch_load_guest(struct vm *vm);
/* CPUID, MSRs, registers; the boot vCPU gets the entry state. */
int arch_vcpu_init(struct vcpu *vcpu);
/* Registers and the reason, for fatal exits. */
void arch_vcpu_dump(struct vcpu *vcpu);
void arch_vm_destroy(struct vm *vm);

#endif
