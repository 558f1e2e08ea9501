#define LOG_TAG "x86"
/* The x86 implementation of the hooks in vmm/arch.h. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86/acpi.h"
#include "arch/x86/boot.h"
#include "arch/x86/cpuid.h"
#include "arch/x86/layout.h"
#include "arch/x86/regs.h"
#include "hw/acpi_pm.h"
#include "hw/i8042.h"
#include "hw/rtc.h"
#include "hw/uart.h"
#include "vmm/arch.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

int arch_validate_config(const struct vm_config *cfg, bool *guest_is_linux)
{
	struct x86_kernel_info info;
	int ret;

	ret = x86_probe_kernel(cfg->kernel, &info);
	if (ret)
		return ret;
	*guest_is_linux = info.is_linux;
	if (cfg->cmdline && strlen(cfg->cmdline) + 1 > info.cmdline_max + 1ULL) {
		log_error("kernel command line is %zu bytes, this kernel takes at most %u",
			  strlen(cfg->cmdline), info.cmdline_max);
		return -E2BIG;
	}
	if (cfg->initrd)
		return x86_probe_initrd(cfg->initrd);
	return 0;
}

void arch_memory_layout(const struct vm_config *cfg, uint64_t *hole_start, uint64_t *hole_end)
{
	(void)cfg;
	*hole_start = X86_MMIO_HOLE_START;
	*hole_end = X86_4G;
}

int arch_vm_init(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = 0 };
	uint64_t identity = X86_IDENTITY_MAP_ADDR, top;

	/* Intel needs these two pages for real mode; harmless elsewhere. */
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, (unsigned long)X86_TSS_ADDR) < 0 ||
	    ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0) {
		log_error("KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		log_error("KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0) {
		log_error("KVM_CREATE_PIT2: %s", strerror(errno));
		return -errno;
	}
	/* The 64-bit BAR window: 1 GiB aligned, above the top of RAM. */
	top = vm->mem.region[vm->mem.nr_regions - 1].gpa + vm->mem.region[vm->mem.nr_regions - 1].size;
	if (top < X86_4G)
		top = X86_4G;
	vm->pci_mmio64_base = (top + (1ULL << 30) - 1) & ~((1ULL << 30) - 1);
	vm->pci_mmio64_size = X86_PCI_MMIO64_SIZE;
	vm->arch.cpuid = x86_cpuid_supported(vm->kvm->fd);
	return vm->arch.cpuid ? 0 : -ENOTSUP;
}

int arch_create_devices(struct vm *vm)
{
	int ret;

	/* COM1 is the console on stdio (serial) or on a socket (socket). */
	ret = uart_create(&vm->uart, vm, X86_COM1_PORT, X86_COM1_IRQ,
			  vm->cfg->console == CONSOLE_SERIAL || vm->cfg->console == CONSOLE_SOCKET
				  ? vm->console : NULL);
	if (!ret)
		ret = rtc_create(&vm->rtc, vm, X86_RTC_PORT);
	if (!ret)
		ret = i8042_create(&vm->i8042, vm, X86_I8042_PORT);
	if (!ret)
		ret = acpi_pm_create(&vm->pm, vm, X86_PM_PORT, X86_SCI_IRQ);
	return ret;
}

static int build_acpi(struct vm *vm)
{
	struct acpi_params p = {
		.nr_cpus = vm->cfg->nr_cpus,
		.pm_port = X86_PM_PORT,
		.sci_irq = X86_SCI_IRQ,
		.pci = true,
		.ecam_base = X86_PCI_ECAM_BASE,
		.mmio32_base = X86_PCI_MMIO32_BASE,
		.mmio32_size = X86_PCI_MMIO32_SIZE,
		.mmio64_base = vm->pci_mmio64_base,
		.mmio64_size = vm->pci_mmio64_size,
		.pci_intx_gsi_base = 16,
	};
	uint8_t *dst = gm_ptr(&vm->mem, X86_ACPI_ADDR, X86_ACPI_SIZE);

	if (!dst)
		return -EFAULT;
	if (!acpi_build_tables(dst, X86_ACPI_SIZE, X86_ACPI_ADDR, &p)) {
		log_error("ACPI tables do not fit in %llu KiB", X86_ACPI_SIZE >> 10);
		return -ENOSPC;
	}
	vm->arch.rsdp = X86_ACPI_ADDR; /* the RSDP comes first */
	return 0;
}

int arch_load_guest(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct x86_kernel_info info;
	const char *cmdline = cfg->cmdline ? cfg->cmdline : "";
	int ret;

	ret = build_acpi(vm);
	if (!ret)
		ret = x86_write_boot_tables(vm);
	if (!ret)
		ret = x86_probe_kernel(cfg->kernel, &info);
	if (ret)
		return ret;
	if (info.kind == X86_KERNEL_BZIMAGE)
		return x86_load_bzimage(vm, cfg->kernel, cfg->initrd, cmdline);
	return x86_load_pvh(vm, cfg->kernel, cfg->initrd, cmdline);
}

int arch_vcpu_init(struct vcpu *vcpu)
{
	return x86_vcpu_setup(vcpu);
}

void arch_vcpu_dump(struct vcpu *vcpu)
{
	x86_vcpu_dump(vcpu);
}

void arch_vm_destroy(struct vm *vm)
{
	acpi_pm_destroy(vm->pm);
	i8042_destroy(vm->i8042);
	rtc_destroy(vm->rtc);
	uart_destroy(vm->uart);
	vm->pm = NULL;
	vm->i8042 = NULL;
	vm->rtc = NULL;
	vm->uart = NULL;
	free(vm->arch.cpuid);
	vm->arch.cpuid = NULL;
}
