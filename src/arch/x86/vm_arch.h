/* x86 state of a VM that the neutral code carries without looking inside. */
#ifndef SARDINE_X86_VM_ARCH_H
#define SARDINE_X86_VM_ARCH_H

#include <stdbool.h>
#include <stdint.h>

struct kvm_cpuid2;

enum x86_entry_mode {
	X86_ENTRY_LINUX64, /* 64-bit Linux boot protocol: RSI = boot_params */
	X86_ENTRY_PVH32,   /* PVH: 32-bit protected mode, EBX = hvm_start_info */
};

struct vm_arch {
	enum x86_entry_mode entry_mode;
	uint64_t entry;          /* guest physical entry point */
	uint64_t boot_info;      /* boot_params or hvm_start_info */
	uint64_t rsdp;
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID, adjusted per vCPU */
};

#endif
