/* Recognising non-raw image formats by their first bytes (block/format.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "block/block.h"

static uint8_t head[4096];

static const char *probe_with(size_t off, const void *sig, size_t len)
{
	memset(head, 0, sizeof(head));
	memcpy(head + off, sig, len);
	return blk_format_probe(head, sizeof(head));
}

static void known_formats_are_named(void **state)
{
	(void)state;
	assert_string_equal(probe_with(0, "QFI\xfb\0\0\0\x03", 8), "qcow2");
	assert_string_equal(probe_with(0, "QFI\xfb\0\0\0\x02", 8), "qcow2");
	assert_string_equal(probe_with(0, "QFI\xfb\0\0\0\x01", 8), "qcow");
	assert_string_equal(probe_with(0, "QED\0", 4), "QED");
	assert_string_equal(probe_with(0, "KDMV\x01\0\0\0", 8), "VMDK");
	assert_string_equal(probe_with(0, "# Disk DescriptorFile\nversion=1\n", 32), "VMDK");
	assert_string_equal(probe_with(0x40, "\x7f\x10\xda\xbe", 4), "VDI");
	assert_string_equal(probe_with(0, "vhdxfile", 8), "VHDX");
	assert_string_equal(probe_with(0, "conectix", 8), "VHD");
}

/* What a guest's own disk starts with must pass: zeros, a partition
 * table, a file system, a whole-disk LUKS volume. */
static void raw_contents_pass(void **state)
{
	(void)state;
	memset(head, 0, sizeof(head));
	assert_null(blk_format_probe(head, sizeof(head)));
	head[510] = 0x55;
	head[511] = 0xaa; /* an MBR */
	assert_null(blk_format_probe(head, sizeof(head)));
	assert_null(probe_with(512, "EFI PART", 8));
	assert_null(probe_with(0, "LUKS\xba\xbe\0\x02", 8));
	assert_null(probe_with(0x438, "\x53\xef", 2)); /* ext4's magic */
	assert_null(probe_with(0x40, "\x7f\x10\xda", 3));
}

/* A short image is probed only as far as its bytes go. */
static void short_heads_are_safe(void **state)
{
	(void)state;
	assert_null(blk_format_probe((const uint8_t *)"QFI\xfb", 4));
	assert_null(blk_format_probe((const uint8_t *)"QFI", 3));
	assert_null(blk_format_probe((const uint8_t *)"", 0));
	memset(head, 0, sizeof(head));
	memcpy(head + 0x40, "\x7f\x10\xda\xbe", 4);
	assert_null(blk_format_probe(head, 0x43));
	assert_string_equal(blk_format_probe(head, 0x44), "VDI");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_formats_are_named),
		cmocka_unit_test(raw_contents_pass),
		cmocka_unit_test(short_heads_are_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
