#define LOG_TAG "vcpu"
#include "arch/x86/regs.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86/cpuid.h"
#include "arch/x86/layout.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define CR0_PE (1ULL << 0)
#define CR0_ET (1ULL << 4)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define PTE_PRESENT_RW 0x3ULL
#define PDE_2M_PAGE 0x83ULL /* present, writable, page size */

#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MISC_ENABLE_FAST_STRING 1ULL
#define MTRR_ENABLE_WB ((1ULL << 11) | 6) /* MTRRs on, default write-back */

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_EXTINT 0x700
#define APIC_MODE_NMI 0x400

static const uint64_t boot_gdt[] = {
	0,                     /* null */
	0x00cf9b000000ffffULL, /* 0x08: 32-bit code, flat */
	0x00af9b000000ffffULL, /* 0x10: 64-bit code */
	0x00cf93000000ffffULL, /* 0x18: data, flat */
	0x00008b0000000fffULL, /* 0x20: TSS (busy) */
};

int x86_write_boot_tables(struct vm *vm)
{
	uint64_t pml4e = X86_PDPT_ADDR | PTE_PRESENT_RW;
	int ret;

	ret = gm_write(&vm->mem, X86_GDT_ADDR, boot_gdt, sizeof(boot_gdt));
	if (!ret)
		ret = gm_write(&vm->mem, X86_PML4_ADDR, &pml4e, sizeof(pml4e));
	/* Identity map of the first 4 GiB with 2 MiB pages: four PDs. */
	for (uint64_t i = 0; i < 4 && !ret; i++) {
		uint64_t pdpte = (X86_PD_ADDR + i * 4096) | PTE_PRESENT_RW;
		uint64_t *pd = gm_ptr(&vm->mem, X86_PD_ADDR + i * 4096, 4096);

		ret = gm_write(&vm->mem, X86_PDPT_ADDR + i * 8, &pdpte, sizeof(pdpte));
		if (!pd)
			return -EFAULT;
		for (uint64_t j = 0; j < 512; j++)
			pd[j] = ((i * 512 + j) << 21) | PDE_2M_PAGE;
	}
	return ret;
}

static int setup_cpuid(struct vcpu *vcpu)
{
	const struct kvm_cpuid2 *base = vcpu->vm->arch.cpuid;
	size_t size = sizeof(*base) + base->nent * sizeof(base->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);
	int ret = 0;

	if (!c)
		return -ENOMEM;
	memcpy(c, base, size);
	x86_cpuid_adjust(c, vcpu->id, vcpu->vm->cfg->nr_cpus, vcpu->vm->kvm->has_tsc_deadline);
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0) {
		ret = -errno;
		log_error("KVM_SET_CPUID2: %s", strerror(errno));
	}
	free(c);
	return ret;
}

static int setup_msrs(struct vcpu *vcpu)
{
	static const struct { uint32_t index; uint64_t value; } boot_msrs[] = {
		{ MSR_IA32_SYSENTER_CS, 0 },  { MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 }, { MSR_STAR, 0 },
		{ MSR_LSTAR, 0 },             { MSR_CSTAR, 0 },
		{ MSR_SYSCALL_MASK, 0 },      { MSR_KERNEL_GS_BASE, 0 },
		{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
		{ MSR_MTRR_DEF_TYPE, MTRR_ENABLE_WB },
	};
	const unsigned int n = sizeof(boot_msrs) / sizeof(boot_msrs[0]);
	struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + n * sizeof(msrs->entries[0]));
	int ret;

	if (!msrs)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		msrs->entries[i].index = boot_msrs[i].index;
		msrs->entries[i].data = boot_msrs[i].value;
	}
	msrs->nmsrs = n;
	ret = ioctl(vcpu->fd, KVM_SET_MSRS, msrs);
	if (ret < 0) {
		ret = -errno;
	} else {
		/* KVM stops at the first MSR it refuses; the rest are best
		 * effort (a KVM without MTRR emulation still boots Linux). */
		if ((unsigned int)ret < n)
			log_debug("KVM refused MSR %#x", msrs->entries[ret].index);
		ret = 0;
	}
	free(msrs);
	return ret;
}

static int setup_lapic(struct vcpu *vcpu)
{
	struct kvm_lapic_state lapic;
	uint32_t v;

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	/* LINT0 takes the 8259's interrupts, LINT1 is NMI: the PC wiring. */
	memcpy(&v, lapic.regs + APIC_LVT0, 4);
	v = (v & ~0x700u) | APIC_MODE_EXTINT;
	memcpy(lapic.regs + APIC_LVT0, &v, 4);
	memcpy(&v, lapic.regs + APIC_LVT1, 4);
	v = (v & ~0x700u) | APIC_MODE_NMI;
	memcpy(lapic.regs + APIC_LVT1, &v, 4);
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .s = 1, .g = 1,
		.l = code64, .db = !code64,
	};
}

static int setup_boot_regs(struct vcpu *vcpu)
{
	const struct vm_arch *arch = &vcpu->vm->arch;
	bool long_mode = arch->entry_mode == X86_ENTRY_LINUX64;
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rflags = 0x2, .rip = arch->entry };

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	flat_segment(&sregs.cs, long_mode ? X86_SEL_CODE64 : X86_SEL_CODE32, 0xb, long_mode);
	flat_segment(&sregs.ds, X86_SEL_DATA, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.tr = (struct kvm_segment){ .limit = 0xfff, .selector = X86_SEL_TSS, .type = 0xb,
					 .present = 1 };
	sregs.gdt.base = X86_GDT_ADDR;
	sregs.gdt.limit = sizeof(boot_gdt) - 1;
	sregs.idt.base = X86_IDT_ADDR;
	sregs.idt.limit = 0;
	sregs.cr0 = CR0_PE | CR0_ET;
	if (long_mode) {
		sregs.cr0 |= CR0_PG;
		sregs.cr3 = X86_PML4_ADDR;
		sregs.cr4 = CR4_PAE;
		sregs.efer = EFER_LME | EFER_LMA;
		regs.rsi = arch->boot_info; /* struct boot_params */
		regs.rsp = regs.rbp = X86_BOOT_STACK_ADDR;
	} else {
		sregs.cr4 = 0;
		sregs.efer = 0;
		regs.rbx = arch->boot_info; /* struct hvm_start_info */
	}
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

int x86_vcpu_setup(struct vcpu *vcpu)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	int ret;

	ret = setup_cpuid(vcpu);
	if (ret)
		return ret;
	ret = setup_msrs(vcpu);
	if (!ret && ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
		ret = -errno;
	if (!ret)
		ret = setup_lapic(vcpu);
	/* Application processors wait for INIT/SIPI in the in-kernel LAPIC. */
	if (!ret && vcpu->id == 0)
		ret = setup_boot_regs(vcpu);
	if (ret)
		log_error("vCPU %u setup failed: %s", vcpu->id, strerror(-ret));
	return ret;
}

void x86_vcpu_dump(struct vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
		log_error("vCPU %u: registers unavailable: %s", vcpu->id, strerror(errno));
		return;
	}
	log_error("vCPU %u: rip=%016llx rsp=%016llx rflags=%016llx", vcpu->id, r.rip, r.rsp,
		  r.rflags);
	log_error("  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx", r.rax, r.rbx, r.rcx, r.rdx);
	log_error("  rsi=%016llx rdi=%016llx rbp=%016llx r8 =%016llx", r.rsi, r.rdi, r.rbp, r.r8);
	log_error("  r9 =%016llx r10=%016llx r11=%016llx r12=%016llx", r.r9, r.r10, r.r11, r.r12);
	log_error("  r13=%016llx r14=%016llx r15=%016llx", r.r13, r.r14, r.r15);
	log_error("  cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%llx", s.cr0, s.cr2,
		  s.cr3, s.cr4, s.efer);
	log_error("  cs=%04x ss=%04x gdt=%llx/%x idt=%llx/%x", s.cs.selector, s.ss.selector,
		  s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
}
