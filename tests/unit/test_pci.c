/* The PCI host: BAR placement, sizing, decoding by the command register,
 * and dispatch of memory and port I/O BAR accesses, through configuration
 * cycles on ports 0xcf8/0xcfc as a guest makes them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/layout.h"
#include "hw/pci.h"
#include "vmm/vm.h"

struct probe {
	uint64_t offset, value;
	unsigned int writes;
};

static void probe_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int len)
{
	(void)opaque;
	bus_put(data, len, 0x50 + offset);
}

static void probe_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned int len)
{
	struct probe *p = opaque;

	p->offset = offset;
	p->value = bus_get(data, len);
	p->writes++;
}

static const struct bus_ops probe_ops = { .read = probe_read, .write = probe_write };

struct remap {
	unsigned int bar;
	uint64_t old_addr, new_addr;
	unsigned int calls;
};

static struct remap last_remap;

static void on_remap(struct pci_device *dev, unsigned int bar, uint64_t old_addr, uint64_t new_addr)
{
	(void)dev;
	last_remap = (struct remap){ bar, old_addr, new_addr, last_remap.calls + 1 };
}

static const struct pci_device_ops dev_ops = { .bar_remap = on_remap };

static struct vm vm;
static struct pci_device dev;
static struct probe mem_probe, io_probe;

static uint32_t cfg_read(unsigned int reg)
{
	uint8_t data[4];

	bus_put(data, 4, 0x80000000u | dev.slot << 11 | reg);
	assert_true(bus_write(&vm.pio, X86_PCI_CONF_PORT, data, 4));
	assert_true(bus_read(&vm.pio, X86_PCI_CONF_PORT + 4, data, 4));
	return (uint32_t)bus_get(data, 4);
}

static void cfg_write(unsigned int reg, uint32_t value)
{
	uint8_t data[4];

	bus_put(data, 4, 0x80000000u | dev.slot << 11 | reg);
	assert_true(bus_write(&vm.pio, X86_PCI_CONF_PORT, data, 4));
	bus_put(data, 4, value);
	assert_true(bus_write(&vm.pio, X86_PCI_CONF_PORT + 4, data, 4));
}

static int setup(void **state)
{
	(void)state;
	memset(&vm, 0, sizeof(vm));
	memset(&mem_probe, 0, sizeof(mem_probe));
	memset(&io_probe, 0, sizeof(io_probe));
	last_remap = (struct remap){ 0 };
	if (bus_init(&vm.pio, "pio") || bus_init(&vm.mmio, "mmio") ||
	    pci_host_create(&vm.pci, &vm, X86_4G + (1ULL << 30), 1ULL << 30))
		return -1;
	pci_device_init(&dev, "probe", 0x1234, 0x5678, 0xff0000, 0);
	dev.ops = &dev_ops;
	if (pci_add_bar(&dev, 0, 4096, 0, &probe_ops, &mem_probe) ||
	    pci_add_bar(&dev, 2, 4, PCI_BAR_IO, &probe_ops, &io_probe))
		return -1;
	return pci_host_add_device(vm.pci, &dev);
}

static int teardown(void **state)
{
	(void)state;
	pci_host_remove_device(vm.pci, &dev);
	pci_host_destroy(vm.pci);
	bus_destroy(&vm.pio);
	bus_destroy(&vm.mmio);
	return 0;
}

static void io_bar_rules(void **state)
{
	(void)state;
	assert_int_equal(pci_add_bar(&dev, 3, 2, PCI_BAR_IO, &probe_ops, NULL), -EINVAL);
	assert_int_equal(pci_add_bar(&dev, 3, 512, PCI_BAR_IO, &probe_ops, NULL), -EINVAL);
	assert_int_equal(pci_add_bar(&dev, 3, 12, PCI_BAR_IO, &probe_ops, NULL), -EINVAL);
	assert_int_equal(pci_add_bar(&dev, 3, 8, PCI_BAR_IO | PCI_BAR_MEM64, &probe_ops, NULL),
			 -EINVAL);
}

/* Placed like firmware: memory in the 32-bit window, ports from 0xc000;
 * sizing reads back the size mask with the type bits kept. */
static void bars_placed_and_sized(void **state)
{
	(void)state;
	assert_int_equal(cfg_read(PCI_BAR0), X86_PCI_MMIO32_BASE);
	assert_int_equal(cfg_read(PCI_BAR0 + 8), X86_PCI_IO_BASE | 1);
	cfg_write(PCI_BAR0 + 8, 0xffffffff);
	assert_int_equal(cfg_read(PCI_BAR0 + 8), 0xfffffffd);
	cfg_write(PCI_BAR0 + 8, X86_PCI_IO_BASE);
	assert_int_equal(cfg_read(PCI_BAR0 + 8), X86_PCI_IO_BASE | 1);
	cfg_write(PCI_BAR0, 0xffffffff);
	assert_int_equal(cfg_read(PCI_BAR0), 0xfffff000);
	cfg_write(PCI_BAR0, X86_PCI_MMIO32_BASE);
}

/* Each kind of BAR decodes only with its command bit, and accesses reach
 * its handler at the right offset. */
static void decoding_follows_command_bits(void **state)
{
	uint8_t data[2];

	(void)state;
	bus_put(data, 2, 7);
	bus_write(&vm.pio, X86_PCI_IO_BASE, data, 2);
	assert_int_equal(io_probe.writes, 0);

	cfg_write(PCI_COMMAND, PCI_COMMAND_MEMORY);
	assert_int_equal(last_remap.bar, 0);
	assert_int_equal(last_remap.new_addr, X86_PCI_MMIO32_BASE);
	bus_write(&vm.pio, X86_PCI_IO_BASE, data, 2);
	assert_int_equal(io_probe.writes, 0);
	bus_write(&vm.mmio, X86_PCI_MMIO32_BASE + 0x10, data, 2);
	assert_int_equal(mem_probe.writes, 1);
	assert_int_equal(mem_probe.offset, 0x10);

	cfg_write(PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	assert_int_equal(last_remap.bar, 2);
	assert_int_equal(last_remap.old_addr, 0);
	assert_int_equal(last_remap.new_addr, X86_PCI_IO_BASE);
	bus_put(data, 2, 3);
	bus_write(&vm.pio, X86_PCI_IO_BASE + 2, data, 2);
	assert_int_equal(io_probe.writes, 1);
	assert_int_equal(io_probe.offset, 2);
	assert_int_equal(io_probe.value, 3);
	assert_true(bus_read(&vm.pio, X86_PCI_IO_BASE + 1, data, 1));
	assert_int_equal(data[0], 0x51);

	/* Moved by the guest: the handler follows, the old place is dead. */
	cfg_write(PCI_BAR0 + 8, X86_PCI_IO_BASE + 0x100);
	assert_int_equal(last_remap.old_addr, X86_PCI_IO_BASE);
	assert_int_equal(last_remap.new_addr, X86_PCI_IO_BASE + 0x100);
	bus_write(&vm.pio, X86_PCI_IO_BASE + 0x100, data, 2);
	bus_write(&vm.pio, X86_PCI_IO_BASE, data, 2);
	assert_int_equal(io_probe.writes, 2);
	assert_int_equal(io_probe.offset, 0);

	cfg_write(PCI_COMMAND, PCI_COMMAND_MEMORY);
	assert_int_equal(last_remap.new_addr, 0);
	cfg_write(PCI_BAR0 + 8, X86_PCI_IO_BASE);
	cfg_write(PCI_COMMAND, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(io_bar_rules),
		cmocka_unit_test(bars_placed_and_sized),
		cmocka_unit_test(decoding_follows_command_bits),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
