/* The 16550A as the Linux 8250 driver probes and drives it, through the
 * port I/O bus (no KVM: interrupt line updates fail harmlessly). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hw/uart.h"
#include "vmm/vm.h"

#define COM1 0x3f8

static struct vm vm;
static struct uart *uart;

static uint8_t in(uint16_t reg)
{
	uint8_t v;

	bus_read(&vm.pio, COM1 + reg, &v, 1);
	return v;
}

static void out(uint16_t reg, uint8_t v)
{
	bus_write(&vm.pio, COM1 + reg, &v, 1);
}

static int setup(void **state)
{
	(void)state;
	memset(&vm, 0, sizeof(vm));
	vm.fd = -1;
	bus_init(&vm.pio, "pio");
	return uart_create(&uart, &vm, COM1, 4, NULL);
}

static int teardown(void **state)
{
	(void)state;
	uart_destroy(uart);
	bus_destroy(&vm.pio);
	return 0;
}

static void loopback_probe_like_8250(void **state)
{
	(void)state;
	/* serial8250 autoconfig: MCR = LOOP | OUT2 | RTS, MSR must read 0x90. */
	out(4, 0x10 | 0x0a);
	assert_int_equal(in(6) & 0xf0, 0x90);
	/* A byte sent in loopback comes back on the receive side. */
	out(0, 'Z');
	assert_true(in(5) & 0x01);
	assert_int_equal(in(0), 'Z');
	assert_false(in(5) & 0x01);
	out(4, 0x08);
	assert_int_equal(in(6) & 0xf0, 0xb0); /* DCD, DSR, CTS */
}

static void fifo_identifies_as_16550a(void **state)
{
	(void)state;
	out(2, 0x07); /* enable and clear FIFOs */
	assert_int_equal(in(2) & 0xc0, 0xc0);
	assert_int_equal(in(2) & 0x20, 0); /* not a 16750 */
	out(7, 0x5a);
	assert_int_equal(in(7), 0x5a); /* scratch register */
}

static void thre_interrupt_on_enable_and_ack_on_iir(void **state)
{
	(void)state;
	out(1, 0x00);
	assert_int_equal(in(2) & 0x0f, 0x01); /* nothing pending */
	out(1, 0x02); /* enable THRE interrupt with THR empty: fires at once */
	assert_int_equal(in(2) & 0x0f, 0x02);
	/* Reading IIR acknowledged it. */
	assert_int_equal(in(2) & 0x0f, 0x01);
	out(0, 'a'); /* THR empty again after the byte left */
	assert_int_equal(in(2) & 0x0f, 0x02);
	assert_true(in(5) & 0x60);
	out(1, 0x00);
}

static void divisor_latch(void **state)
{
	(void)state;
	out(3, 0x80); /* DLAB */
	out(0, 0x01);
	out(1, 0x00);
	assert_int_equal(in(0), 0x01);
	assert_int_equal(in(1), 0x00);
	out(3, 0x03); /* 8N1 */
	assert_int_equal(in(3), 0x03);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loopback_probe_like_8250),
		cmocka_unit_test(fifo_identifies_as_16550a),
		cmocka_unit_test(thre_interrupt_on_enable_and_ack_on_iir),
		cmocka_unit_test(divisor_latch),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
