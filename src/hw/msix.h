/* MSI-X for a PCI device: the capability, the vector table and pending
 * bits in a BAR, and delivery through KVM irqfds (one GSI and eventfd per
 * vector).  Masking is honoured: a masked vector's message is held as a
 * pending bit and sent when the vector is unmasked. */
#ifndef SARDINE_MSIX_H
#define SARDINE_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct pci_device;
struct vm;

#define MSIX_ENTRY_SIZE 16
#define MSIX_NO_VECTOR 0xffff

struct msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

struct msix {
	struct vm *vm;
	struct pci_device *pci;
	uint8_t cap;           /* capability offset in config space */
	unsigned int nr;       /* vectors */
	struct msix_entry *table;
	uint64_t *pending;     /* one bit per vector */
	uint32_t *gsi;
	int *fd;               /* irqfd eventfds */
	bool enabled, all_masked;
	pthread_mutex_t lock;
	uint64_t sent, held;   /* counters */
};

/* Table at table_off and PBA at pba_off inside BAR `bar`. */
int msix_init(struct msix *m, struct vm *vm, struct pci_device *pci, unsigned int nr,
	      unsigned int bar, uint32_t table_off, uint32_t pba_off);
void msix_destroy(struct msix *m);

/* BAR accesses to the table (offset from the table start) and the PBA. */
void msix_table_read(struct msix *m, uint64_t off, uint8_t *data, unsigned int len);
void msix_table_write(struct msix *m, uint64_t off, const uint8_t *data, unsigned int len);
void msix_pba_read(struct msix *m, uint64_t off, uint8_t *data, unsigned int len);
/* After a config write touching the capability (enable, function mask). */
void msix_config_written(struct msix *m, uint32_t off, uint32_t len);

bool msix_enabled(struct msix *m);
/* Signal a vector from a device thread; false when the vector is invalid. */
bool msix_notify(struct msix *m, uint16_t vector);
/* Back to power-on state (device reset). */
void msix_reset(struct msix *m);

#endif
