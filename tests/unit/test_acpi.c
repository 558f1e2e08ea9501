/* ACPI tables: every checksum, the pointers between tables, MADT contents,
 * and the AML encoder's package lengths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/acpi.h"
#include "arch/x86/aml.h"
#include "arch/x86/layout.h"

#define BASE 0xe0000ULL
static uint8_t buf[0x20000];

static const uint8_t *at(uint64_t gpa, size_t len)
{
	assert_true(gpa >= BASE && gpa + len <= BASE + sizeof(buf));
	return buf + (gpa - BASE);
}

static uint32_t u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Returns the table with this signature, checking its checksum. */
static const uint8_t *find_table(const char *sig)
{
	const uint8_t *rsdp = buf, *xsdt = at(u64(rsdp + 24), 36);
	uint32_t n = (u32(xsdt + 4) - 36) / 8;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *t = at(u64(xsdt + 36 + 8 * i), 36);

		if (memcmp(t, sig, 4) == 0) {
			assert_int_equal(acpi_checksum(t, u32(t + 4)), 0);
			return t;
		}
	}
	return NULL;
}

static void build(unsigned int cpus, bool pci)
{
	struct acpi_params p = {
		.nr_cpus = cpus, .pm_port = X86_PM_PORT, .sci_irq = 9, .pci = pci,
		.ecam_base = X86_PCI_ECAM_BASE, .mmio32_base = X86_PCI_MMIO32_BASE,
		.mmio32_size = X86_PCI_MMIO32_SIZE, .mmio64_base = 1ULL << 36,
		.mmio64_size = 1ULL << 36, .pci_intx_gsi_base = 16,
	};

	memset(buf, 0, sizeof(buf));
	assert_true(acpi_build_tables(buf, sizeof(buf), BASE, &p) > 0);
}

static void rsdp_and_xsdt_are_valid(void **state)
{
	const uint8_t *xsdt;

	(void)state;
	build(4, false);
	assert_memory_equal(buf, "RSD PTR ", 8);
	assert_int_equal(acpi_checksum(buf, 20), 0);
	assert_int_equal(acpi_checksum(buf, 36), 0);
	assert_int_equal(buf[15], 2); /* revision: XSDT present */
	xsdt = at(u64(buf + 24), 36);
	assert_memory_equal(xsdt, "XSDT", 4);
	assert_int_equal(acpi_checksum(xsdt, u32(xsdt + 4)), 0);
}

static void fadt_points_at_valid_dsdt_and_facs(void **state)
{
	const uint8_t *fadt, *dsdt, *facs;

	(void)state;
	build(1, false);
	fadt = find_table("FACP");
	assert_non_null(fadt);
	assert_int_equal(u32(fadt + 4), 276);
	dsdt = at(u64(fadt + 140), 36);
	assert_memory_equal(dsdt, "DSDT", 4);
	assert_int_equal(acpi_checksum(dsdt, u32(dsdt + 4)), 0);
	assert_int_equal(u32(fadt + 40), u64(fadt + 140)); /* DSDT == X_DSDT */
	facs = at(u64(fadt + 132), 64);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal((u64(fadt + 132) & 63), 0);
	assert_int_equal(fadt[46], 9); /* SCI */
	assert_int_equal(u32(fadt + 64), X86_PM_PORT + 4); /* PM1a_CNT */
	/* \_S5 and the legacy devices are in the DSDT. */
	assert_non_null(memmem(dsdt, u32(dsdt + 4), "_S5_", 4));
	assert_non_null(memmem(dsdt, u32(dsdt + 4), "COM1", 4));
}

static void madt_lists_every_cpu(void **state)
{
	const uint8_t *madt, *p, *end;
	unsigned int lapics = 0, ioapics = 0;

	(void)state;
	build(64, false);
	madt = find_table("APIC");
	assert_non_null(madt);
	assert_int_equal(u32(madt + 36), X86_LAPIC_ADDR);
	end = madt + u32(madt + 4);
	for (p = madt + 44; p < end; p += p[1]) {
		assert_true(p[1] >= 2);
		if (p[0] == 0) {
			assert_int_equal(p[3], lapics); /* APIC ID */
			assert_int_equal(u32(p + 4) & 1, 1);
			lapics++;
		} else if (p[0] == 1) {
			assert_int_equal(u32(p + 4), X86_IOAPIC_ADDR);
			ioapics++;
		}
	}
	assert_true(p == end);
	assert_int_equal(lapics, 64);
	assert_int_equal(ioapics, 1);
}

static void mcfg_only_with_pci(void **state)
{
	const uint8_t *mcfg;

	(void)state;
	build(2, false);
	assert_null(find_table("MCFG"));
	build(2, true);
	mcfg = find_table("MCFG");
	assert_non_null(mcfg);
	assert_int_equal(u64(mcfg + 44), X86_PCI_ECAM_BASE);
}

static void aml_package_lengths(void **state)
{
	struct aml a;
	size_t mark;
	uint8_t big[100];

	(void)state;
	aml_init(&a);
	mark = aml_package_begin(&a, 1);
	aml_integer(&a, 5);
	aml_end(&a, mark);
	/* PackageOp, PkgLength(4), NumElements, BytePrefix 5 */
	assert_int_equal(a.len, 5);
	assert_int_equal(a.buf[0], 0x12);
	assert_int_equal(a.buf[1], 4);
	aml_free(&a);

	aml_init(&a);
	memset(big, 0, sizeof(big));
	aml_buffer(&a, big, sizeof(big));
	/* BufferOp, 2-byte PkgLength, BytePrefix 100, 100 bytes: length 104 */
	assert_int_equal(a.len, 1 + 2 + 2 + 100);
	assert_int_equal(a.buf[1], 0x40 | (104 & 0xf));
	assert_int_equal(a.buf[2], 104 >> 4);
	aml_free(&a);
}

static void aml_eisaid_encoding(void **state)
{
	(void)state;
	/* PNP0501 is 0x0105D041 in ACPI tables. */
	assert_int_equal(aml_eisaid_value("PNP0501"), 0x0105d041);
	assert_int_equal(aml_eisaid_value("PNP0A08"), 0x080ad041);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rsdp_and_xsdt_are_valid),
		cmocka_unit_test(fadt_points_at_valid_dsdt_and_facs),
		cmocka_unit_test(madt_lists_every_cpu),
		cmocka_unit_test(mcfg_only_with_pci),
		cmocka_unit_test(aml_package_lengths),
		cmocka_unit_test(aml_eisaid_encoding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
