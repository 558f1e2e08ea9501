/* CPUID for the guest: what KVM supports, adjusted per vCPU (APIC IDs,
 * topology, the hypervisor bit and KVM's paravirtual signature). */
#ifndef SARDINE_X86_CPUID_H
#define SARDINE_X86_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>

struct kvm_cpuid2 *x86_cpuid_supported(int kvm_fd);
/* Pure adjustment of a copy for vCPU `id` of `nr`; unit tested. */
void x86_cpuid_adjust(struct kvm_cpuid2 *cpuid, unsigned int id, unsigned int nr,
		      bool tsc_deadline);
struct kvm_cpuid_entry2 *x86_cpuid_find(struct kvm_cpuid2 *cpuid, unsigned int function,
					unsigned int index);

#endif
