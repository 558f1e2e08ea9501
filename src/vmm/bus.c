#define LOG_TAG "bus"
#include "vmm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

int bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	return -pthread_rwlock_init(&bus->lock, NULL);
}

void bus_destroy(struct bus *bus)
{
	pthread_rwlock_destroy(&bus->lock);
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr = bus->cap = 0;
}

/* Index of the first range whose end is above addr (binary search). */
static unsigned int lower_bound(const struct bus *bus, uint64_t addr)
{
	unsigned int lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (r->base + r->len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque)
{
	unsigned int i;
	int ret = 0;

	if (len == 0 || base + len < base)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	i = lower_bound(bus, base);
	if (i < bus->nr && bus->ranges[i].base < base + len) {
		log_debug("%s: [%#llx, +%#llx) overlaps [%#llx, +%#llx)", bus->name,
			  (unsigned long long)base, (unsigned long long)len,
			  (unsigned long long)bus->ranges[i].base,
			  (unsigned long long)bus->ranges[i].len);
		ret = -EBUSY;
		goto out;
	}
	if (bus->nr == bus->cap) {
		unsigned int cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *r = realloc(bus->ranges, cap * sizeof(*r));

		if (!r) {
			ret = -ENOMEM;
			goto out;
		}
		bus->ranges = r;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->nr - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct bus_range){ base, len, ops, opaque };
	bus->nr++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus_unregister(struct bus *bus, uint64_t base, void *opaque)
{
	unsigned int i;
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	i = lower_bound(bus, base);
	if (i < bus->nr && bus->ranges[i].base == base && bus->ranges[i].opaque == opaque) {
		memmove(&bus->ranges[i], &bus->ranges[i + 1],
			(bus->nr - i - 1) * sizeof(bus->ranges[0]));
		bus->nr--;
		ret = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

/* An access is dispatched only when it lies wholly inside one range. */
static const struct bus_range *find(const struct bus *bus, uint64_t addr, unsigned int len)
{
	unsigned int i = lower_bound(bus, addr);
	const struct bus_range *r;

	if (i >= bus->nr)
		return NULL;
	r = &bus->ranges[i];
	if (addr < r->base || addr - r->base + len > r->len)
		return NULL;
	return r;
}

bool bus_read(struct bus *bus, uint64_t addr, uint8_t *data, unsigned int len)
{
	const struct bus_range *r;
	bool handled = false;

	pthread_rwlock_rdlock(&bus->lock);
	r = find(bus, addr, len);
	if (r && r->ops->read) {
		r->ops->read(r->opaque, addr - r->base, data, len);
		handled = true;
	}
	pthread_rwlock_unlock(&bus->lock);
	if (!handled) {
		memset(data, 0xff, len);
		__atomic_add_fetch(&bus->unhandled, 1, __ATOMIC_RELAXED);
		log_debug("%s: unhandled read of %u bytes at %#llx", bus->name, len,
			  (unsigned long long)addr);
	}
	return handled;
}

bool bus_write(struct bus *bus, uint64_t addr, const uint8_t *data, unsigned int len)
{
	const struct bus_range *r;
	bool handled = false;

	pthread_rwlock_rdlock(&bus->lock);
	r = find(bus, addr, len);
	if (r && r->ops->write) {
		r->ops->write(r->opaque, addr - r->base, data, len);
		handled = true;
	}
	pthread_rwlock_unlock(&bus->lock);
	if (!handled) {
		__atomic_add_fetch(&bus->unhandled, 1, __ATOMIC_RELAXED);
		log_debug("%s: unhandled write of %u bytes at %#llx", bus->name, len,
			  (unsigned long long)addr);
	}
	return handled;
}
