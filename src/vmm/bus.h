/* Range-map buses for port I/O and MMIO.
 *
 * A device registers [base, base+len) with a read and a write handler; the
 * handlers receive the offset into the range.  Overlaps are refused.  The
 * vCPU exit loop looks a range up on every PIO/MMIO exit; PCI BAR moves may
 * (re)register ranges at run time, hence the reader/writer lock. */
#ifndef SARDINE_BUS_H
#define SARDINE_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct bus_ops {
	/* data holds len bytes (1, 2, 4 or 8); little endian like x86. */
	void (*read)(void *opaque, uint64_t offset, uint8_t *data, unsigned int len);
	void (*write)(void *opaque, uint64_t offset, const uint8_t *data, unsigned int len);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *opaque;
};

struct bus {
	const char *name;
	pthread_rwlock_t lock;
	struct bus_range *ranges; /* sorted by base, never overlapping */
	unsigned int nr, cap;
	uint64_t unhandled; /* accesses nobody claimed */
};

int bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque);
int bus_unregister(struct bus *bus, uint64_t base, void *opaque);

/* Returns false when no device claims the address (reads then see all ones). */
bool bus_read(struct bus *bus, uint64_t addr, uint8_t *data, unsigned int len);
bool bus_write(struct bus *bus, uint64_t addr, const uint8_t *data, unsigned int len);

/* Little-endian helpers for handlers. */
static inline uint64_t bus_get(const uint8_t *data, unsigned int len)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < len && i < 8; i++)
		v |= (uint64_t)data[i] << (8 * i);
	return v;
}

static inline void bus_put(uint8_t *data, unsigned int len, uint64_t v)
{
	for (unsigned int i = 0; i < len && i < 8; i++)
		data[i] = (uint8_t)(v >> (8 * i));
}

#endif
