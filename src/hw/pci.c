#define LOG_TAG "pci"
#include "hw/pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define PCI_INTX_GSI_BASE 16
#define PCI_INTX_GSI_COUNT 8
#define BAR_MEM_TYPE_64 0x4
#define BAR_MEM_PREFETCH 0x8
#define BAR_IO_SPACE 0x1

void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint8_t revision)
{
	memset(dev, 0, sizeof(*dev));
	dev->name = name;
	pci_set_u16(dev->config + PCI_VENDOR_ID, vendor);
	pci_set_u16(dev->config + PCI_DEVICE_ID, device);
	dev->config[PCI_REVISION] = revision;
	dev->config[PCI_CLASS_PROG] = (uint8_t)class_code;
	dev->config[PCI_CLASS_PROG + 1] = (uint8_t)(class_code >> 8);
	dev->config[PCI_CLASS_PROG + 2] = (uint8_t)(class_code >> 16);
	/* Decoding, bus mastering and INTx disable are the guest's. */
	pci_set_u16(dev->wmask + PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
						      PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	/* Error bits in the status register are write-one-to-clear. */
	pci_set_u16(dev->w1cmask + PCI_STATUS, 0xf900);
	dev->wmask[PCI_INT_LINE] = 0xff;
}

/* The low bits of a BAR that say its kind rather than its address. */
static uint32_t bar_type_bits(uint32_t flags)
{
	return (flags & PCI_BAR_IO) ? 0x3 : 0xf;
}

int pci_add_bar(struct pci_device *dev, unsigned int idx, uint64_t size, uint32_t flags,
		const struct bus_ops *ops, void *opaque)
{
	bool is64 = flags & PCI_BAR_MEM64, io = flags & PCI_BAR_IO;
	uint32_t low = (is64 ? BAR_MEM_TYPE_64 : 0) | ((flags & PCI_BAR_PREFETCH) ? BAR_MEM_PREFETCH : 0);
	uint64_t mask = ~(size - 1);

	if (idx >= PCI_NR_BARS || (is64 && idx + 1 >= PCI_NR_BARS) || (size & (size - 1)) ||
	    (io ? (size < 4 || size > 256 || is64) : size < 4096) ||
	    (!is64 && size > (1ULL << 31)))
		return -EINVAL;
	if (io)
		low = BAR_IO_SPACE;
	dev->bar[idx] = (struct pci_bar){ .size = size, .flags = flags, .ops = ops, .opaque = opaque };
	pci_set_u32(dev->config + PCI_BAR0 + 4 * idx, low);
	/* Sizing works through the write mask: the low bits never stick. */
	pci_set_u32(dev->wmask + PCI_BAR0 + 4 * idx, (uint32_t)mask & ~bar_type_bits(flags));
	if (is64)
		pci_set_u32(dev->wmask + PCI_BAR0 + 4 * (idx + 1), (uint32_t)(mask >> 32));
	return 0;
}

uint8_t pci_add_cap(struct pci_device *dev, uint8_t id, uint8_t len)
{
	unsigned int off = ((dev->cap_end ? dev->cap_end : 0x40) + 3u) & ~3u;

	if (off + len > PCI_CFG_SIZE || len < 2)
		return 0;
	dev->config[off] = id;
	dev->config[off + 1] = 0;
	if (dev->last_cap)
		dev->config[dev->last_cap + 1] = (uint8_t)off;
	else
		dev->config[PCI_CAP_PTR] = (uint8_t)off;
	pci_set_u16(dev->config + PCI_STATUS,
		    pci_get_u16(dev->config + PCI_STATUS) | PCI_STATUS_CAP_LIST);
	dev->last_cap = (uint8_t)off;
	dev->cap_end = (uint16_t)(off + len);
	return (uint8_t)off;
}

/* Where a BAR decodes now: its address if its kind of decoding is on. */
static uint64_t bar_address(const struct pci_device *dev, unsigned int idx)
{
	const struct pci_bar *b = &dev->bar[idx];
	uint16_t cmd = pci_get_u16(dev->config + PCI_COMMAND);
	bool io = b->flags & PCI_BAR_IO;
	uint64_t addr;

	if (!b->size || !(cmd & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)))
		return 0;
	addr = pci_get_u32(dev->config + PCI_BAR0 + 4 * idx) & ~bar_type_bits(b->flags);
	if (b->flags & PCI_BAR_MEM64)
		addr |= (uint64_t)pci_get_u32(dev->config + PCI_BAR0 + 4 * (idx + 1)) << 32;
	/* A BAR being sized reads back all ones: not an address. */
	if (addr == 0 || addr + b->size < addr || (addr & (b->size - 1)) ||
	    (io && addr + b->size > 0x10000))
		return 0;
	return addr;
}

static void update_bars(struct pci_device *dev)
{
	for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
		uint64_t addr = bar_address(dev, i);

		if (addr == dev->bar[i].mapped)
			continue;
		if (dev->ops && dev->ops->bar_remap)
			dev->ops->bar_remap(dev, i, dev->bar[i].mapped, addr);
		dev->bar[i].mapped = addr;
	}
}

/* Configuration space accesses, with the host lock held. */
static void config_read(struct pci_device *dev, uint32_t off, uint8_t *data, unsigned int len)
{
	if (off >= PCI_CFG_SIZE || off + len > PCI_CFG_SIZE) {
		memset(data, off >= PCI_CFG_SIZE ? 0 : 0xff, len);
		return;
	}
	if (dev->ops && dev->ops->config_read)
		dev->ops->config_read(dev, off, len);
	memcpy(data, dev->config + off, len);
}

static void config_write(struct pci_device *dev, uint32_t off, const uint8_t *data,
			 unsigned int len)
{
	if (off >= PCI_CFG_SIZE || off + len > PCI_CFG_SIZE)
		return;
	for (unsigned int i = 0; i < len; i++) {
		uint8_t *b = &dev->config[off + i];
		uint8_t wm = dev->wmask[off + i], w1c = dev->w1cmask[off + i];

		*b = (uint8_t)((*b & ~wm) | (data[i] & wm));
		*b &= (uint8_t)~(data[i] & w1c);
	}
	if (dev->ops && dev->ops->config_write)
		dev->ops->config_write(dev, off, len);
	if ((off < PCI_BAR0 + 24 && off + len > PCI_BAR0) ||
	    (off < PCI_COMMAND + 2 && off + len > PCI_COMMAND))
		update_bars(dev);
}

static struct pci_device *device_at(struct pci_host *host, unsigned int bus, unsigned int devfn)
{
	if (bus != 0 || (devfn & 7) != 0)
		return NULL; /* bus 0, function 0 only */
	return host->slot[devfn >> 3];
}

/* Port I/O: 0xcf8 latches an address, 0xcfc..0xcff move the data. */
static void cf8_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int len)
{
	struct pci_host *host = opaque;
	uint32_t addr = host->config_address;
	struct pci_device *dev;

	if (offset == 0) {
		bus_put(data, len, len == 4 ? addr : 0xffffffff);
		return;
	}
	pthread_rwlock_wrlock(&host->lock);
	dev = (addr & 0x80000000u) ? device_at(host, (addr >> 16) & 0xff, (addr >> 8) & 0xff) : NULL;
	if (dev && offset >= 4)
		config_read(dev, (addr & 0xfc) + (uint32_t)(offset - 4), data, len);
	else
		memset(data, 0xff, len);
	pthread_rwlock_unlock(&host->lock);
}

static void cf8_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned int len)
{
	struct pci_host *host = opaque;
	uint32_t addr = host->config_address;
	struct pci_device *dev;

	if (offset == 0) {
		if (len == 4)
			host->config_address = (uint32_t)bus_get(data, 4);
		return;
	}
	pthread_rwlock_wrlock(&host->lock);
	dev = (addr & 0x80000000u) ? device_at(host, (addr >> 16) & 0xff, (addr >> 8) & 0xff) : NULL;
	if (dev && offset >= 4)
		config_write(dev, (addr & 0xfc) + (uint32_t)(offset - 4), data, len);
	pthread_rwlock_unlock(&host->lock);
}

static const struct bus_ops cf8_ops = { .read = cf8_read, .write = cf8_write };

/* ECAM: bus << 20 | device << 15 | function << 12 | register. */
static void ecam_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int len)
{
	struct pci_host *host = opaque;
	struct pci_device *dev;

	pthread_rwlock_wrlock(&host->lock);
	dev = device_at(host, (unsigned int)(offset >> 20), (unsigned int)(offset >> 12) & 0xff);
	if (dev)
		config_read(dev, (uint32_t)(offset & 0xfff), data, len);
	else
		memset(data, 0xff, len);
	pthread_rwlock_unlock(&host->lock);
}

static void ecam_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned int len)
{
	struct pci_host *host = opaque;
	struct pci_device *dev;

	pthread_rwlock_wrlock(&host->lock);
	dev = device_at(host, (unsigned int)(offset >> 20), (unsigned int)(offset >> 12) & 0xff);
	if (dev)
		config_write(dev, (uint32_t)(offset & 0xfff), data, len);
	pthread_rwlock_unlock(&host->lock);
}

static const struct bus_ops ecam_ops = { .read = ecam_read, .write = ecam_write };

/* The BAR windows: find the decoding BAR and hand it the offset. */
static const struct pci_bar *find_bar(struct pci_host *host, uint64_t addr, unsigned int len,
				      bool io)
{
	for (unsigned int s = 0; s < PCI_MAX_SLOTS; s++) {
		struct pci_device *dev = host->slot[s];

		if (!dev)
			continue;
		for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
			const struct pci_bar *b = &dev->bar[i];

			if (b->mapped && !(b->flags & PCI_BAR_IO) == !io &&
			    addr - b->mapped < b->size && addr - b->mapped + len <= b->size)
				return b;
		}
	}
	return NULL;
}

static void window_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int len)
{
	const struct pci_window *win = opaque;
	struct pci_host *host = win->host;
	const struct pci_bar *b;

	offset += win->base; /* a guest physical address or port from here on */
	pthread_rwlock_rdlock(&host->lock);
	b = find_bar(host, offset, len, win->io);
	if (b && b->ops->read)
		b->ops->read(b->opaque, offset - b->mapped, data, len);
	else
		memset(data, 0xff, len);
	pthread_rwlock_unlock(&host->lock);
}

static void window_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned int len)
{
	const struct pci_window *win = opaque;
	struct pci_host *host = win->host;
	const struct pci_bar *b;

	offset += win->base;
	pthread_rwlock_rdlock(&host->lock);
	b = find_bar(host, offset, len, win->io);
	if (b && b->ops->write)
		b->ops->write(b->opaque, offset - b->mapped, data, len);
	pthread_rwlock_unlock(&host->lock);
}

static const struct bus_ops window_ops = { .read = window_read, .write = window_write };

int pci_host_create(struct pci_host **out, struct vm *vm, uint64_t mmio64_base,
		    uint64_t mmio64_size)
{
	struct pci_host *host = calloc(1, sizeof(*host));
	int ret;

	if (!host)
		return -ENOMEM;
	host->vm = vm;
	pthread_rwlock_init(&host->lock, NULL);
	host->mmio32_next = X86_PCI_MMIO32_BASE;
	host->mmio32_end = X86_PCI_MMIO32_BASE + X86_PCI_MMIO32_SIZE;
	host->mmio64_base = host->mmio64_next = mmio64_base;
	host->mmio64_end = mmio64_base + mmio64_size;
	host->io_next = X86_PCI_IO_BASE;
	host->io_end = X86_PCI_IO_BASE + X86_PCI_IO_SIZE;

	/* 00.0: the host bridge itself (a generic PCIe host bridge ID). */
	pci_device_init(&host->bridge, "host-bridge", 0x1b36, 0x0008, 0x060000, 0);
	host->slot[0] = &host->bridge;
	host->bridge.host = host;

	host->win32 = (struct pci_window){ host, X86_PCI_MMIO32_BASE, false };
	host->win64 = (struct pci_window){ host, mmio64_base, false };
	host->winio = (struct pci_window){ host, X86_PCI_IO_BASE, true };
	ret = bus_register(&vm->pio, X86_PCI_CONF_PORT, 8, &cf8_ops, host);
	if (!ret)
		ret = bus_register(&vm->pio, X86_PCI_IO_BASE, X86_PCI_IO_SIZE, &window_ops,
				   &host->winio);
	if (!ret)
		ret = bus_register(&vm->mmio, X86_PCI_ECAM_BASE, X86_PCI_ECAM_SIZE, &ecam_ops, host);
	if (!ret)
		ret = bus_register(&vm->mmio, X86_PCI_MMIO32_BASE, X86_PCI_MMIO32_SIZE, &window_ops,
				   &host->win32);
	if (!ret && mmio64_size)
		ret = bus_register(&vm->mmio, mmio64_base, mmio64_size, &window_ops, &host->win64);
	if (ret) {
		pci_host_destroy(host);
		return ret;
	}
	*out = host;
	return 0;
}

void pci_host_destroy(struct pci_host *host)
{
	if (!host)
		return;
	bus_unregister(&host->vm->pio, X86_PCI_CONF_PORT, host);
	bus_unregister(&host->vm->pio, X86_PCI_IO_BASE, &host->winio);
	bus_unregister(&host->vm->mmio, X86_PCI_ECAM_BASE, host);
	bus_unregister(&host->vm->mmio, X86_PCI_MMIO32_BASE, &host->win32);
	if (host->mmio64_end > host->mmio64_base)
		bus_unregister(&host->vm->mmio, host->mmio64_base, &host->win64);
	pthread_rwlock_destroy(&host->lock);
	free(host);
}

/* Naturally aligned placement in a window. */
static int place(uint64_t *next, uint64_t end, uint64_t size, uint64_t *addr)
{
	uint64_t a = (*next + size - 1) & ~(size - 1);

	if (a < *next || a + size > end)
		return -ENOSPC;
	*addr = a;
	*next = a + size;
	return 0;
}

int pci_host_add_device(struct pci_host *host, struct pci_device *dev)
{
	unsigned int slot;
	int ret = 0;

	pthread_rwlock_wrlock(&host->lock);
	for (slot = 1; slot < PCI_MAX_SLOTS && host->slot[slot]; slot++)
		;
	if (slot == PCI_MAX_SLOTS) {
		ret = -ENOSPC;
		goto out;
	}
	for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
		struct pci_bar *b = &dev->bar[i];
		uint64_t addr;
		uint8_t *reg = dev->config + PCI_BAR0 + 4 * i;

		if (!b->size)
			continue;
		/* Large 64-bit BARs go above RAM; small ones stay below 4G. */
		if (b->flags & PCI_BAR_IO)
			ret = place(&host->io_next, host->io_end, b->size, &addr);
		else if ((b->flags & PCI_BAR_MEM64) && b->size >= (1ULL << 28))
			ret = place(&host->mmio64_next, host->mmio64_end, b->size, &addr);
		else
			ret = place(&host->mmio32_next, host->mmio32_end, b->size, &addr);
		if (ret)
			goto out;
		pci_set_u32(reg, (pci_get_u32(reg) & bar_type_bits(b->flags)) | (uint32_t)addr);
		if (b->flags & PCI_BAR_MEM64)
			pci_set_u32(reg + 4, (uint32_t)(addr >> 32));
	}
	dev->slot = slot;
	dev->host = host;
	dev->intx_gsi = PCI_INTX_GSI_BASE + (slot % PCI_INTX_GSI_COUNT);
	dev->config[PCI_INT_PIN] = 1; /* INTA */
	dev->config[PCI_INT_LINE] = (uint8_t)dev->intx_gsi;
	host->slot[slot] = dev;
out:
	pthread_rwlock_unlock(&host->lock);
	if (ret)
		log_error("no room for %s on the PCI bus", dev->name);
	return ret;
}

void pci_host_remove_device(struct pci_host *host, struct pci_device *dev)
{
	pthread_rwlock_wrlock(&host->lock);
	if (dev->slot && host->slot[dev->slot] == dev)
		host->slot[dev->slot] = NULL;
	pthread_rwlock_unlock(&host->lock);
}

void pci_set_intx(struct pci_device *dev, int level)
{
	uint16_t status = pci_get_u16(dev->config + PCI_STATUS);

	if (level)
		status |= PCI_STATUS_INTERRUPT;
	else
		status &= (uint16_t)~PCI_STATUS_INTERRUPT;
	pci_set_u16(dev->config + PCI_STATUS, status);
	if (pci_get_u16(dev->config + PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE)
		level = 0;
	if (level != dev->intx_level) {
		dev->intx_level = level;
		vm_set_irq_line(dev->host->vm, dev->intx_gsi, level);
	}
}

bool pci_bus_master(const struct pci_device *dev)
{
	return pci_get_u16(dev->config + PCI_COMMAND) & PCI_COMMAND_MASTER;
}
