/* The range-map bus: dispatch by offset, overlaps refused, all-ones reads. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmm/bus.h"

struct probe {
	uint64_t last_offset;
	uint64_t last_value;
	unsigned int writes;
};

static void probe_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int len)
{
	bus_put(data, len, 0xa0 + offset);
	(void)opaque;
}

static void probe_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned int len)
{
	struct probe *p = opaque;

	p->last_offset = offset;
	p->last_value = bus_get(data, len);
	p->writes++;
}

static const struct bus_ops ops = { .read = probe_read, .write = probe_write };

static void dispatch_and_overlap(void **state)
{
	struct bus bus;
	struct probe a = { 0 }, b = { 0 };
	uint8_t data[4] = { 0x78, 0x56, 0x34, 0x12 };

	(void)state;
	bus_init(&bus, "test");
	assert_int_equal(bus_register(&bus, 0x3f8, 8, &ops, &a), 0);
	assert_int_equal(bus_register(&bus, 0x70, 2, &ops, &b), 0);
	assert_int_equal(bus_register(&bus, 0x3fc, 8, &ops, &b), -EBUSY);
	assert_int_equal(bus_register(&bus, 0x3f0, 9, &ops, &b), -EBUSY);
	assert_int_equal(bus_register(&bus, 0x3f0, 8, &ops, &b), 0); /* adjacent is fine */

	assert_false(bus_write(&bus, 0x3fe, data, 4)); /* straddles the end */
	assert_true(bus_write(&bus, 0x3f9, data, 4));
	assert_int_equal(a.last_offset, 1);
	assert_int_equal(a.last_value, 0x12345678);
	assert_true(bus_read(&bus, 0x71, data, 1));
	assert_int_equal(data[0], 0xa1);
	assert_false(bus_read(&bus, 0x80, data, 2));
	assert_int_equal(data[0], 0xff);
	assert_int_equal(data[1], 0xff);
	assert_int_equal(bus.unhandled, 2); /* the straddling write and this read */

	assert_int_equal(bus_unregister(&bus, 0x3f8, &b), -ENOENT); /* not b's */
	assert_int_equal(bus_unregister(&bus, 0x3f8, &a), 0);
	assert_false(bus_write(&bus, 0x3f9, data, 1));
	bus_destroy(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dispatch_and_overlap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
