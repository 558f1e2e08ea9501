/* The e820 map and boot-time tables sardine hands to the guest. */
#include <asm/e820.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "arch/x86/boot.h"
#include "arch/x86/layout.h"
#include "vmm/guest_mem.h"

static unsigned int e820_for(uint64_t ram, struct boot_e820_entry *tbl, struct guest_mem *gm)
{
	struct guest_mem_layout l = {
		.ram_size = ram, .hole_start = X86_MMIO_HOLE_START, .hole_end = X86_4G,
	};

	assert_int_equal(guest_mem_init(gm, &l), 0);
	return x86_build_e820(gm, tbl, 128);
}

static uint64_t ram_total(const struct boot_e820_entry *tbl, unsigned int n)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < n; i++)
		if (tbl[i].type == E820_RAM)
			sum += tbl[i].size;
	return sum;
}

static void small_guest_has_no_high_ram(void **state)
{
	struct boot_e820_entry tbl[128];
	struct guest_mem gm;
	unsigned int n = e820_for(128ULL << 20, tbl, &gm);

	(void)state;
	assert_int_equal(n, 4);
	assert_int_equal(tbl[0].addr, 0);
	assert_int_equal(tbl[0].size, X86_EBDA_ADDR);
	assert_int_equal(tbl[1].type, E820_RESERVED); /* EBDA, BIOS area, ACPI */
	assert_int_equal(tbl[2].addr, X86_HIGH_MEM_ADDR);
	assert_int_equal(tbl[2].addr + tbl[2].size, 128ULL << 20);
	assert_int_equal(tbl[3].addr, X86_PCI_ECAM_BASE);
	assert_int_equal(tbl[3].type, E820_RESERVED);
	/* Everything but the legacy hole is RAM. */
	assert_int_equal(ram_total(tbl, n), (128ULL << 20) - (X86_HIGH_MEM_ADDR - X86_EBDA_ADDR));
	guest_mem_destroy(&gm);
}

static void big_guest_is_split_around_the_hole(void **state)
{
	struct boot_e820_entry tbl[128];
	struct guest_mem gm;
	unsigned int n = e820_for(4ULL << 30, tbl, &gm);

	(void)state;
	assert_int_equal(n, 5);
	assert_int_equal(tbl[2].addr + tbl[2].size, X86_MMIO_HOLE_START);
	assert_int_equal(tbl[4].addr, X86_4G);
	assert_int_equal(tbl[4].size, (4ULL << 30) - X86_MMIO_HOLE_START);
	assert_int_equal(tbl[4].type, E820_RAM);
	/* No RAM entry overlaps the 32-bit MMIO hole. */
	for (unsigned int i = 0; i < n; i++)
		if (tbl[i].type == E820_RAM)
			assert_true(tbl[i].addr + tbl[i].size <= X86_MMIO_HOLE_START ||
				    tbl[i].addr >= X86_4G);
	guest_mem_destroy(&gm);
}

static void entries_are_sorted_and_disjoint(void **state)
{
	struct boot_e820_entry tbl[128];
	struct guest_mem gm;
	unsigned int n = e820_for(6ULL << 30, tbl, &gm);

	(void)state;
	for (unsigned int i = 1; i < n; i++)
		assert_true(tbl[i - 1].addr + tbl[i - 1].size <= tbl[i].addr);
	guest_mem_destroy(&gm);
}

static void truncates_to_the_table_size(void **state)
{
	struct boot_e820_entry tbl[2];
	struct guest_mem gm;
	struct guest_mem_layout l = { .ram_size = 64 << 20, .hole_start = X86_MMIO_HOLE_START,
				      .hole_end = X86_4G };

	(void)state;
	assert_int_equal(guest_mem_init(&gm, &l), 0);
	assert_int_equal(x86_build_e820(&gm, tbl, 2), 2);
	guest_mem_destroy(&gm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(small_guest_has_no_high_ram),
		cmocka_unit_test(big_guest_is_split_around_the_hole),
		cmocka_unit_test(entries_are_sorted_and_disjoint),
		cmocka_unit_test(truncates_to_the_table_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
