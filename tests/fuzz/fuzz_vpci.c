/* libFuzzer target: the virtio PCI transport, with virtio-rng or
 * virtio-balloon behind it, in the hands of a hostile guest driver.
 *
 * Each input builds a small VM (4 MiB of RAM, the PCI host, the MSI
 * router) and one device on its own I/O thread, as sardine runs it.  The
 * interrupt routes, irqfds and ioeventfds go to one real KVM VM (with an
 * in-kernel irqchip, no vCPUs) made once per process: /dev/kvm is needed,
 * and each input must leave that VM as it found it.  The input is then a program of guest actions:
 * configuration space accesses (through ECAM), BAR 0 reads and writes
 * (common configuration, ISR, device configuration, notifications, MSI-X
 * table and PBA), port notifications, stores into guest RAM (rings and
 * buffers), a canned "bring queue N up" sequence that gets the fuzzer to
 * running queues quickly, and pauses that let the I/O thread work.  The
 * device is torn down at the end as at VM exit.  Sanitizers and the
 * invariants below catch what goes wrong. */
#include <assert.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "hw/pci.h"
#include "virtio/devices.h"
#include "virtio/transport.h"
#include "virtio/virtio.h"
#include "vmm/config.h"
#include "vmm/vm.h"

#define RAM (4u << 20)
#define BAR0 0xc0000000ULL
#define IO_BAR 0xc000
#define STATUS_NEEDS_RESET 0x40

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int kvm_vm_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	(void)argc, (void)argv;
	assert(kvm >= 0);
	kvm_vm_fd = ioctl(kvm, KVM_CREATE_VM, 0);
	assert(kvm_vm_fd >= 0);
	assert(ioctl(kvm_vm_fd, KVM_CREATE_IRQCHIP, 0) == 0);
	close(kvm);
	return 0;
}

struct input {
	const uint8_t *p;
	size_t left;
};

static uint64_t take(struct input *in, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++) {
		v |= (uint64_t)(in->left ? *in->p : 0) << (8 * i);
		if (in->left) {
			in->p++;
			in->left--;
		}
	}
	return v;
}

static uint64_t ecam_addr(const struct pci_device *dev, uint32_t reg)
{
	return X86_PCI_ECAM_BASE + ((uint64_t)dev->slot << 15) + reg;
}

static void cfg_write(struct vm *vm, const struct pci_device *dev, uint32_t reg, uint32_t v,
		      unsigned int len)
{
	uint8_t b[4];

	bus_put(b, len, v);
	bus_write(&vm->mmio, ecam_addr(dev, reg), b, len);
}

static void bar_write(struct vm *vm, uint64_t off, uint64_t v, unsigned int len)
{
	uint8_t b[8];

	bus_put(b, len, v);
	bus_write(&vm->mmio, BAR0 + off, b, len);
}

static uint64_t bar_read(struct vm *vm, uint64_t off, unsigned int len)
{
	uint8_t b[8] = { 0 };

	bus_read(&vm->mmio, BAR0 + off, b, len);
	return bus_get(b, len);
}

/* What a driver does to start the queues in `mask` (of the first eight),
 * each with `size` entries and its rings at fixed places. */
static void bring_up(struct vm *vm, uint8_t mask, uint16_t size)
{
	bar_write(vm, 0x14, 1 | 2, 1);           /* ACKNOWLEDGE | DRIVER */
	bar_write(vm, 0x08, 1, 4);               /* driver features, high word */
	bar_write(vm, 0x0c, 1, 4);               /* VERSION_1 */
	bar_write(vm, 0x14, 1 | 2 | 8, 1);       /* FEATURES_OK */
	for (unsigned int q = 0; q < 8; q++) {
		uint64_t base = 0x100000 + (uint64_t)q * 0x10000;

		if (!(mask & (1u << q)))
			continue;
		bar_write(vm, 0x16, q, 2);
		bar_write(vm, 0x18, size, 2);
		bar_write(vm, 0x1a, q + 1, 2);    /* MSI-X vector */
		bar_write(vm, 0x20, base, 4);
		bar_write(vm, 0x28, base + 0x1000, 4);
		bar_write(vm, 0x30, base + 0x2000, 4);
		bar_write(vm, 0x1c, 1, 2);
	}
	bar_write(vm, 0x14, 1 | 2 | 4 | 8, 1);   /* DRIVER_OK */
}

static const unsigned int lens[] = { 1, 2, 4, 8 };

static void run_program(struct vm *vm, const struct pci_device *dev, struct input *in)
{
	while (in->left) {
		uint8_t op = (uint8_t)take(in, 1);
		unsigned int len = lens[(op >> 4) & 3];

		switch (op & 7) {
		case 0: /* configuration space write */
			cfg_write(vm, dev, (uint32_t)take(in, 1) & ~(len > 4 ? 3u : len - 1),
				  (uint32_t)take(in, 4), len > 4 ? 4 : len);
			break;
		case 1: { /* configuration space read */
			uint8_t b[4];

			bus_read(&vm->mmio, ecam_addr(dev, (uint32_t)take(in, 1) & ~3u), b, 4);
			break;
		}
		case 2: /* BAR 0 write */
			bar_write(vm, take(in, 2) & 0x7fff, take(in, len), len);
			break;
		case 3: /* BAR 0 read (reading the ISR acknowledges it) */
			(void)bar_read(vm, take(in, 2) & 0x7fff, len);
			break;
		case 4: { /* port notification */
			uint8_t b[2];

			bus_put(b, 2, take(in, 2));
			bus_write(&vm->pio, IO_BAR, b, 2);
			break;
		}
		case 5: { /* store into guest RAM */
			uint64_t gpa = take(in, 3) % (RAM - 8), v = take(in, 8);

			memcpy(gm_ptr(&vm->mem, gpa, 8), &v, 8);
			break;
		}
		case 6:
			bring_up(vm, (uint8_t)take(in, 1), (uint16_t)(1u << (take(in, 1) % 10)));
			break;
		default: /* let the I/O thread run */
			usleep(200);
			break;
		}
	}
}

static struct virtio_dev *create_device(struct vm *vm, uint8_t kind)
{
	struct balloon_config bc = { .enabled = true, .deflate_on_oom = true,
				     .free_page_reporting = true, .size = 1 << 20 };
	struct virtio_dev *d = NULL;
	int ret = kind & 1 ? virtio_balloon_create(vm, &bc, &d) : virtio_rng_create(vm, &d);

	assert(ret == 0);
	if (virtio_dev_attach(d)) {
		d->ops->destroy(d);
		return NULL;
	}
	return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem_layout l = { .ram_size = RAM, .hole_start = X86_MMIO_HOLE_START,
				      .hole_end = X86_4G };
	struct input in = { data, size };
	struct virtio_dev *d;
	struct vm *vm;
	struct pci_device *dev;

	if (size < 1)
		return 0;
	vm = calloc(1, sizeof(*vm));
	assert(vm);
	vm->fd = kvm_vm_fd;
	vm->exit_fd = -1;
	assert(bus_init(&vm->pio, "pio") == 0 && bus_init(&vm->mmio, "mmio") == 0);
	assert(guest_mem_init(&vm->mem, &l) == 0);
	assert(irq_router_init(&vm->irq) == 0);
	assert(pci_host_create(&vm->pci, vm, X86_4G + (1ULL << 30), 1ULL << 30) == 0);
	d = create_device(vm, (uint8_t)take(&in, 1));
	assert(d);
	dev = NULL;
	for (unsigned int i = 0; !dev && i < PCI_MAX_SLOTS; i++)
		if (vm->pci->slot[i] && vm->pci->slot[i] != &vm->pci->bridge)
			dev = vm->pci->slot[i];
	assert(dev);
	/* The firmware's part: BARs placed, decoding and bus mastering on. */
	cfg_write(vm, dev, 0x10, (uint32_t)BAR0, 4);
	cfg_write(vm, dev, 0x18, IO_BAR, 4);
	cfg_write(vm, dev, 0x04, 7, 2);
	run_program(vm, dev, &in);
	/* Whatever the guest did, the device answers and reset works (with
	 * its BARs back where the firmware put them: undecoded space reads as
	 * all ones, as on real PCI). */
	cfg_write(vm, dev, 0x10, (uint32_t)BAR0, 4);
	cfg_write(vm, dev, 0x04, 7, 2);
	bar_write(vm, 0x14, 0, 1);
	assert(bar_read(vm, 0x14, 1) == 0);
	d->transport->ops->destroy(d);
	d->ops->destroy(d);
	pci_host_destroy(vm->pci);
	irq_router_destroy(&vm->irq);
	guest_mem_destroy(&vm->mem);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	free(vm);
	return 0;
}
