/* Parsing of user-supplied sizes, numbers and option strings. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/config.h"

static void sizes_with_suffixes(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_size("256M", 1, &v), 0);
	assert_true(v == 256ULL << 20);
	assert_int_equal(parse_size("4G", 1, &v), 0);
	assert_true(v == 4ULL << 30);
	assert_int_equal(parse_size("4GiB", 1, &v), 0);
	assert_true(v == 4ULL << 30);
	assert_int_equal(parse_size("65536k", 1, &v), 0);
	assert_true(v == 64ULL << 20);
	assert_int_equal(parse_size("512", 1ULL << 20, &v), 0);
	assert_true(v == 512ULL << 20);
}

static void bad_sizes(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_size("", 1, &v), -EINVAL);
	assert_int_equal(parse_size("M", 1, &v), -EINVAL);
	assert_int_equal(parse_size("-1G", 1, &v), -EINVAL);
	assert_int_equal(parse_size("12X", 1, &v), -EINVAL);
	assert_int_equal(parse_size("1G2", 1, &v), -EINVAL);
	assert_int_equal(parse_size("99999999999999999999", 1, &v), -ERANGE);
	assert_int_equal(parse_size("99999999999T", 1, &v), -ERANGE);
}

static void numbers_in_range(void **state)
{
	unsigned long v;

	(void)state;
	assert_int_equal(parse_uint("4", 1, 254, &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(parse_uint("0", 1, 254, &v), -ERANGE);
	assert_int_equal(parse_uint("255", 1, 254, &v), -ERANGE);
	assert_int_equal(parse_uint("4x", 1, 254, &v), -EINVAL);
	assert_int_equal(parse_uint(" 4", 1, 254, &v), -EINVAL);
}

/* The command line takes what the API takes (found by fuzz_config: a
 * margin of 12 TiB passed the CLI and failed the VmConfig round trip). */
static void balloon_sizes_are_bounded(void **state)
{
	struct vm_config cfg;
	char err[256];

	(void)state;
	config_init_defaults(&cfg);
	assert_int_equal(config_set_balloon(&cfg, "auto,margin=512M", err, sizeof(err)), 0);
	assert_true(cfg.balloon.auto_margin == 512ULL << 20);
	assert_int_equal(config_set_balloon(&cfg, "auto,margin=12755555", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "margin=12755555"));
	assert_int_equal(config_set_balloon(&cfg, "on,size=2T", err, sizeof(err)), -EINVAL);
	assert_int_equal(config_set_balloon(&cfg, "on,size=1T", err, sizeof(err)), 0);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes_with_suffixes),
		cmocka_unit_test(bad_sizes),
		cmocka_unit_test(numbers_in_range),
		cmocka_unit_test(balloon_sizes_are_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
