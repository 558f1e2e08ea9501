/* The PCI host bridge: bus 0 with up to 32 single-function devices,
 * configuration space through ports 0xcf8/0xcfc and through ECAM, and
 * memory BARs placed by sardine in the 32-bit window (64-bit BARs above
 * RAM) and port I/O BARs from 0xc000, the way firmware would have left
 * them. */
#ifndef SARDINE_PCI_H
#define SARDINE_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"

struct vm;
struct pci_host;

#define PCI_CFG_SIZE 256
#define PCI_MAX_SLOTS 32
#define PCI_NR_BARS 6

/* Standard configuration space registers. */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_SUBSYS_VENDOR 0x2c
#define PCI_SUBSYS_ID 0x2e
#define PCI_CAP_PTR 0x34
#define PCI_INT_LINE 0x3c
#define PCI_INT_PIN 0x3d
#define PCI_COMMAND_IO 0x0001
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS_INTERRUPT 0x0008
#define PCI_STATUS_CAP_LIST 0x0010
#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_MSIX 0x11

#define PCI_BAR_MEM64 0x1 /* flags for pci_add_bar */
#define PCI_BAR_PREFETCH 0x2
#define PCI_BAR_IO 0x4 /* port I/O, 4 to 256 bytes */

struct pci_device;

struct pci_device_ops {
	/* After the generic code stored a guest write at [off, off+len). */
	void (*config_write)(struct pci_device *dev, uint32_t off, uint32_t len);
	/* Before a guest read of [off, off+len), to refresh live values. */
	void (*config_read)(struct pci_device *dev, uint32_t off, uint32_t len);
	/* A BAR starts or stops decoding at an address (0: not decoding). */
	void (*bar_remap)(struct pci_device *dev, unsigned int bar, uint64_t old_addr,
			  uint64_t new_addr);
};

struct pci_bar {
	uint64_t size; /* 0: unused */
	uint32_t flags;
	const struct bus_ops *ops;
	void *opaque;
	uint64_t mapped; /* decoding address, 0 when not decoding */
};

struct pci_device {
	uint8_t config[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];   /* bits the guest may change */
	uint8_t w1cmask[PCI_CFG_SIZE]; /* bits the guest clears by writing 1 */
	struct pci_bar bar[PCI_NR_BARS];
	unsigned int slot;
	unsigned int intx_gsi;
	int intx_level;
	uint8_t last_cap; /* offset of the last capability, 0: none */
	uint16_t cap_end;  /* first free byte after the capabilities */
	const char *name;
	const struct pci_device_ops *ops;
	void *opaque;
	struct pci_host *host;
};

/* A BAR window on the MMIO or the port I/O bus; the bus hands out
 * offsets from base. */
struct pci_window {
	struct pci_host *host;
	uint64_t base;
	bool io;
};

struct pci_host {
	struct vm *vm;
	struct pci_window win32, win64, winio;
	pthread_rwlock_t lock; /* configuration spaces and BAR decoding */
	struct pci_device *slot[PCI_MAX_SLOTS];
	struct pci_device bridge;
	uint32_t config_address; /* the 0xcf8 latch */
	uint64_t mmio32_next, mmio32_end;
	uint64_t mmio64_base, mmio64_next, mmio64_end;
	uint64_t io_next, io_end;
};

int pci_host_create(struct pci_host **out, struct vm *vm, uint64_t mmio64_base,
		    uint64_t mmio64_size);
void pci_host_destroy(struct pci_host *host);

void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint8_t revision);
int pci_add_bar(struct pci_device *dev, unsigned int idx, uint64_t size, uint32_t flags,
		const struct bus_ops *ops, void *opaque);
/* Appends a capability of `len` bytes; returns its offset (0: no room). */
uint8_t pci_add_cap(struct pci_device *dev, uint8_t id, uint8_t len);
/* Places the BARs and the INTx line, and puts the device on the bus. */
int pci_host_add_device(struct pci_host *host, struct pci_device *dev);
void pci_host_remove_device(struct pci_host *host, struct pci_device *dev);
/* Level of the device's INTx line (pin A). */
void pci_set_intx(struct pci_device *dev, int level);
/* Bus-master enabled: the device may DMA and interrupt. */
bool pci_bus_master(const struct pci_device *dev);

static inline void pci_set_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void pci_set_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t pci_get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t pci_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
