/* ACPI tables: RSDP, XSDT, FADT (+FACS), DSDT, MADT and MCFG. */
#ifndef SARDINE_X86_ACPI_H
#define SARDINE_X86_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct acpi_params {
	unsigned int nr_cpus;
	uint16_t pm_port;       /* ACPI PM block (see hw/acpi_pm.h) */
	unsigned int sci_irq;
	bool pci;               /* a PCI host bridge with ECAM */
	uint64_t ecam_base;
	uint64_t mmio32_base, mmio32_size;
	uint64_t mmio64_base, mmio64_size;
	unsigned int pci_intx_gsi_base; /* INTx of slot s, pin p: base + (s + p) % 8 */
};

/* Builds all tables into buf (guest address `base`); returns the length
 * used, or 0 when cap is too small.  The RSDP is at offset 0. */
size_t acpi_build_tables(uint8_t *buf, size_t cap, uint64_t base, const struct acpi_params *p);

/* Byte sum of a table; 0 for a valid one (for tests). */
uint8_t acpi_checksum(const void *data, size_t len);

#define ACPI_PCI_INTX_GSI_COUNT 8

#endif
