/* The guest physical address map sardine gives an x86 VM.
 *
 *   0x0000_0500  GDT, IDT (boot only)
 *   0x0000_6000  PVH start info and memory map
 *   0x0000_7000  zero page (struct boot_params)
 *   0x0000_9000  boot page tables: PML4, PDPT, 4 PDs (identity, 4 GiB)
 *   0x0002_0000  kernel command line
 *   0x0009_fc00  EBDA .. 1 MiB: reserved; ACPI tables at 0xe0000
 *   0x0010_0000  RAM ... up to 3 GiB
 *   0xc000_0000  32-bit PCI MMIO window (BARs)
 *   0xe000_0000  PCI ECAM (bus 0)
 *   0xfec0_0000  IOAPIC, 0xfee0_0000 LAPIC (in-kernel)
 *   0x1_0000_0000 RAM above 4 GiB, then the 64-bit PCI MMIO window
 */
#ifndef SARDINE_X86_LAYOUT_H
#define SARDINE_X86_LAYOUT_H

#define X86_GDT_ADDR 0x500ULL
#define X86_IDT_ADDR 0x520ULL
#define X86_PVH_INFO_ADDR 0x6000ULL
#define X86_PVH_MEMMAP_ADDR 0x6040ULL
#define X86_ZERO_PAGE_ADDR 0x7000ULL
#define X86_BOOT_STACK_ADDR 0x8ff0ULL
#define X86_PML4_ADDR 0x9000ULL
#define X86_PDPT_ADDR 0xa000ULL
#define X86_PD_ADDR 0xb000ULL /* four pages, to 0xefff */
#define X86_CMDLINE_ADDR 0x20000ULL
#define X86_CMDLINE_MAX 0x10000ULL
#define X86_EBDA_ADDR 0x9fc00ULL
#define X86_ACPI_ADDR 0xe0000ULL
#define X86_ACPI_SIZE 0x20000ULL
#define X86_HIGH_MEM_ADDR 0x100000ULL

#define X86_MMIO_HOLE_START 0xc0000000ULL
#define X86_PCI_MMIO32_BASE 0xc0000000ULL
#define X86_PCI_MMIO32_SIZE 0x20000000ULL
#define X86_PCI_MMIO64_SIZE (32ULL << 30)
#define X86_PCI_ECAM_BASE 0xe0000000ULL
#define X86_PCI_ECAM_SIZE 0x100000ULL /* bus 0 only */
#define X86_TSS_ADDR 0xfffbd000ULL
#define X86_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define X86_IOAPIC_ADDR 0xfec00000ULL
#define X86_LAPIC_ADDR 0xfee00000ULL
#define X86_4G 0x100000000ULL

/* Legacy I/O ports and ISA IRQs. */
#define X86_COM1_PORT 0x3f8
#define X86_COM1_IRQ 4
#define X86_RTC_PORT 0x70
#define X86_RTC_IRQ 8
#define X86_I8042_PORT 0x60
#define X86_PM_PORT 0x600 /* ACPI PM1a event/control, timer, reset, GPE0 */
#define X86_SCI_IRQ 9
#define X86_PCI_CONF_PORT 0xcf8
#define X86_PCI_IO_BASE 0xc000 /* port I/O BARs, inside the DSDT's window */
#define X86_PCI_IO_SIZE 0x4000

#endif
