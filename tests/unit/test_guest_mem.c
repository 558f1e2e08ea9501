/* Guest memory: bounds, overflow and region splitting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/guest_mem.h"

static struct guest_mem gm;

static int setup_split(void **state)
{
	struct guest_mem_layout l = {
		.ram_size = 64 << 20, .hole_start = 48 << 20, .hole_end = 128 << 20,
	};

	(void)state;
	return guest_mem_init(&gm, &l);
}

static int teardown(void **state)
{
	(void)state;
	guest_mem_destroy(&gm);
	return 0;
}

static void regions_split_around_hole(void **state)
{
	(void)state;
	assert_int_equal(gm.nr_regions, 2);
	assert_int_equal(gm.region[0].gpa, 0);
	assert_int_equal(gm.region[0].size, 48 << 20);
	assert_int_equal(gm.region[1].gpa, 128 << 20);
	assert_int_equal(gm.region[1].size, 16 << 20);
	/* 2 MiB aligned host addresses, or KVM cannot map large nested pages
	 * (kernels before 6.7 do not align large mappings by themselves). */
	assert_int_equal((uintptr_t)gm.region[0].hva & ((2 << 20) - 1), 0);
	assert_int_equal((uintptr_t)gm.region[1].hva & ((2 << 20) - 1), 0);
}

static void ptr_checks_whole_range(void **state)
{
	(void)state;
	assert_non_null(gm_ptr(&gm, 0, 4096));
	assert_non_null(gm_ptr(&gm, (48 << 20) - 8, 8));
	assert_null(gm_ptr(&gm, (48 << 20) - 8, 9));       /* runs into the hole */
	assert_null(gm_ptr(&gm, 48 << 20, 1));             /* in the hole */
	assert_non_null(gm_ptr(&gm, 128 << 20, 16 << 20)); /* all of region 1 */
	assert_null(gm_ptr(&gm, 128 << 20, (16 << 20) + 1));
	assert_null(gm_ptr(&gm, UINT64_MAX - 3, 8));       /* wraps */
	assert_null(gm_ptr(&gm, 16, UINT64_MAX));
	assert_null(gm_ptr(&gm, 1ULL << 40, 1));
}

static void read_write_round_trip(void **state)
{
	uint64_t v = 0x1122334455667788ULL, back = 0;

	(void)state;
	assert_int_equal(gm_write(&gm, 0x1000, &v, sizeof(v)), 0);
	assert_int_equal(gm_read(&gm, 0x1000, &back, sizeof(back)), 0);
	assert_true(back == v);
	assert_int_equal(gm_write(&gm, (48 << 20) - 4, &v, sizeof(v)), -EFAULT);
	assert_int_equal(gm_read(&gm, 60 << 20, &back, 1), -EFAULT);
}

static void iov_rejects_holes_and_overflow(void **state)
{
	struct iovec iov[4];
	unsigned int n = 0;

	(void)state;
	assert_int_equal(gm_to_iov(&gm, 4096, 8192, iov, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(iov[0].iov_len, 8192);
	n = 0;
	assert_int_equal(gm_to_iov(&gm, (48 << 20) - 4096, 8192, iov, 4, &n), -EFAULT);
	assert_int_equal(n, 0);
	assert_int_equal(gm_to_iov(&gm, UINT64_MAX - 10, 100, iov, 4, &n), -EFAULT);
	n = 3;
	assert_int_equal(gm_to_iov(&gm, 0, 4096, iov, 3, &n), -E2BIG);
	assert_int_equal(n, 3);
}

static void gpa_of_inverts_ptr(void **state)
{
	(void)state;
	assert_int_equal(gm_gpa_of(&gm, gm_ptr(&gm, 0x12345, 1)), 0x12345);
	assert_int_equal(gm_gpa_of(&gm, gm_ptr(&gm, (128 << 20) + 77, 1)), (128 << 20) + 77);
	assert_true(gm_gpa_of(&gm, &gm) == UINT64_MAX);
}

static void load_file_copies(void **state)
{
	char path[] = "/tmp/sardine-unit-XXXXXX";
	uint8_t data[3 * 4096 + 100];
	const uint8_t *p;
	int fd;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	unlink(path);

	/* Page aligned: only len bytes land, the rest of the page stays 0. */
	assert_int_equal(gm_load_file(&gm, fd, 4096, 0x100000, 4096 + 50), 0);
	p = gm_ptr(&gm, 0x100000, 8192);
	assert_memory_equal(p, data + 4096, 4096 + 50);
	assert_int_equal(p[4096 + 50], 0);
	/* Writes stay in guest RAM: the file is not changed. */
	((uint8_t *)gm_ptr(&gm, 0x100000, 1))[0] ^= 0xff;
	assert_int_equal(pread(fd, path, 1, 4096), 1);
	assert_int_equal((uint8_t)path[0], data[4096]);
	/* Unaligned. */
	assert_int_equal(gm_load_file(&gm, fd, 100, 0x200010, 5000), 0);
	assert_memory_equal(gm_ptr(&gm, 0x200010, 5000), data + 100, 5000);
	/* Outside RAM or past the file's end: errors. */
	assert_int_equal(gm_load_file(&gm, fd, 0, (48 << 20) - 4096, 8192), -ERANGE);
	assert_int_equal(gm_load_file(&gm, fd, 3 * 4096 + 1, 0x300001, 4096), -EIO);
	close(fd);
}

/* All-zero pages of a file are not written: on fresh guest RAM they stay
 * unbacked (no fault, no host memory) and still read as zero. */
static void load_file_skips_zero_pages(void **state)
{
	char path[] = "/tmp/sardine-unit-XXXXXX";
	static uint8_t data[3 * 4096];
	const uint64_t gpa = 0x1000000;
	unsigned char resident[3];
	uint8_t *p;
	int fd;

	(void)state;
	memset(data, 0x5a, 4096);
	memset(data + 2 * 4096, 0xa5, 4096);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	unlink(path);
	p = gm_ptr(&gm, gpa, sizeof(data));
	/* Small pages here, so residency is seen page by page. */
	assert_int_equal(madvise(p, 2 << 20, MADV_NOHUGEPAGE), 0);

	assert_int_equal(gm_load_file(&gm, fd, 0, gpa, sizeof(data)), 0);
	assert_int_equal(mincore(p, sizeof(data), resident), 0);
	assert_true(resident[0] & 1);
	assert_false(resident[1] & 1);
	assert_true(resident[2] & 1);
	assert_memory_equal(p, data, sizeof(data));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(regions_split_around_hole),
		cmocka_unit_test(ptr_checks_whole_range),
		cmocka_unit_test(read_write_round_trip),
		cmocka_unit_test(iov_rejects_holes_and_overflow),
		cmocka_unit_test(gpa_of_inverts_ptr),
		cmocka_unit_test(load_file_copies),
		cmocka_unit_test(load_file_skips_zero_pages),
	};

	return cmocka_run_group_tests(tests, setup_split, teardown);
}
