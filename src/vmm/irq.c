#define LOG_TAG "irq"
#include "vmm/irq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vmm/log.h"
#include "vmm/vm.h"

static size_t msi_table_size(const struct irq_router *r)
{
	return r->nr_msi * sizeof(*r->msi);
}

int irq_router_init(struct irq_router *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->nr_msi = IRQ_MAX_GSIS - IRQ_LEGACY_GSIS;
	/* A guest uses a few of the ~1000 slots (~47 KiB): mapped, untouched
	 * slots cost nothing, where calloc() on reused heap memory would zero,
	 * and so make resident, all of them. */
	r->msi = mmap(NULL, msi_table_size(r), PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->msi == MAP_FAILED)
		r->msi = NULL;
	r->msi_used = calloc(r->nr_msi, sizeof(*r->msi_used));
	r->msi_routed = calloc(r->nr_msi, sizeof(*r->msi_routed));
	if (!r->msi || !r->msi_used || !r->msi_routed) {
		irq_router_destroy(r);
		return -ENOMEM;
	}
	return 0;
}

void irq_router_destroy(struct irq_router *r)
{
	if (r->msi)
		munmap(r->msi, msi_table_size(r));
	free(r->msi_used);
	free(r->msi_routed);
	r->msi = NULL;
	r->msi_used = NULL;
	r->msi_routed = NULL;
	pthread_mutex_destroy(&r->lock);
}

static void irqchip_entry(struct kvm_irq_routing_entry *e, uint32_t gsi, uint32_t chip,
			  uint32_t pin)
{
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

/* KVM_SET_GSI_ROUTING replaces the whole table: rebuild the legacy routes
 * KVM set up by itself, then every live MSI route.  Called with the lock. */
static int commit_locked(struct vm *vm)
{
	struct irq_router *r = &vm->irq;
	struct kvm_irq_routing *table;
	unsigned int n = 0, routed = 0;
	int ret = 0;

	/* Sized to what it holds: the full 1000 MSI slots would be ~40 KiB,
	 * zeroed (and so resident) on every guest reprogramming. */
	for (unsigned int i = 0; i < r->nr_msi; i++)
		routed += r->msi_routed[i];
	table = calloc(1, sizeof(*table) + (IRQ_LEGACY_GSIS + 16 + routed) *
						   sizeof(table->entries[0]));
	if (!table)
		return -ENOMEM;
	for (uint32_t gsi = 0; gsi < IRQ_LEGACY_GSIS; gsi++) {
		if (gsi < 8)
			irqchip_entry(&table->entries[n++], gsi, KVM_IRQCHIP_PIC_MASTER, gsi);
		else if (gsi < 16)
			irqchip_entry(&table->entries[n++], gsi, KVM_IRQCHIP_PIC_SLAVE, gsi - 8);
		irqchip_entry(&table->entries[n++], gsi, KVM_IRQCHIP_IOAPIC, gsi);
	}
	for (unsigned int i = 0; i < r->nr_msi; i++)
		if (r->msi_routed[i])
			table->entries[n++] = r->msi[i];
	table->nr = n;
	if (ioctl(vm->fd, KVM_SET_GSI_ROUTING, table) < 0) {
		ret = -errno;
		log_error("KVM_SET_GSI_ROUTING: %s", strerror(errno));
	}
	free(table);
	return ret;
}

int irq_msi_alloc(struct vm *vm, uint32_t *gsi)
{
	struct irq_router *r = &vm->irq;
	int ret = -ENOSPC;

	pthread_mutex_lock(&r->lock);
	for (unsigned int i = 0; i < r->nr_msi; i++) {
		if (!r->msi_used[i]) {
			r->msi_used[i] = true;
			memset(&r->msi[i], 0, sizeof(r->msi[i]));
			r->msi[i].gsi = IRQ_LEGACY_GSIS + i;
			r->msi[i].type = KVM_IRQ_ROUTING_MSI;
			*gsi = r->msi[i].gsi;
			/* No route until the guest programs one: an irqfd on a
			 * GSI without a route injects nothing, and one table
			 * update per device instead of per vector keeps VM
			 * creation fast. */
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int irq_msi_route(struct vm *vm, uint32_t gsi, uint64_t address, uint32_t data)
{
	struct irq_router *r = &vm->irq;
	unsigned int i = gsi - IRQ_LEGACY_GSIS;
	int ret = 0;

	if (gsi < IRQ_LEGACY_GSIS || i >= r->nr_msi)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	if (!r->msi_routed[i] || r->msi[i].u.msi.address_lo != (uint32_t)address ||
	    r->msi[i].u.msi.address_hi != (uint32_t)(address >> 32) ||
	    r->msi[i].u.msi.data != data) {
		r->msi[i].u.msi.address_lo = (uint32_t)address;
		r->msi[i].u.msi.address_hi = (uint32_t)(address >> 32);
		r->msi[i].u.msi.data = data;
		r->msi_routed[i] = true;
		ret = commit_locked(vm);
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

void irq_msi_free(struct vm *vm, uint32_t gsi)
{
	struct irq_router *r = &vm->irq;
	unsigned int i = gsi - IRQ_LEGACY_GSIS;

	if (gsi < IRQ_LEGACY_GSIS || i >= r->nr_msi)
		return;
	pthread_mutex_lock(&r->lock);
	r->msi_used[i] = false;
	if (r->msi_routed[i]) {
		r->msi_routed[i] = false;
		commit_locked(vm);
	}
	pthread_mutex_unlock(&r->lock);
}

static int irqfd(struct vm *vm, int fd, uint32_t gsi, uint32_t flags)
{
	struct kvm_irqfd req = { .fd = (uint32_t)fd, .gsi = gsi, .flags = flags };

	if (ioctl(vm->fd, KVM_IRQFD, &req) < 0)
		return -errno;
	return 0;
}

int irqfd_assign(struct vm *vm, int fd, uint32_t gsi)
{
	return irqfd(vm, fd, gsi, 0);
}

int irqfd_deassign(struct vm *vm, int fd, uint32_t gsi)
{
	return irqfd(vm, fd, gsi, KVM_IRQFD_FLAG_DEASSIGN);
}

static int ioeventfd(struct vm *vm, int fd, uint64_t addr, uint32_t len, uint32_t flags,
		     uint64_t match)
{
	struct kvm_ioeventfd req = {
		.datamatch = match, .addr = addr, .len = len, .fd = fd, .flags = flags
	};

	if (ioctl(vm->fd, KVM_IOEVENTFD, &req) < 0)
		return -errno;
	return 0;
}

int ioeventfd_assign(struct vm *vm, int fd, uint64_t addr, uint32_t len, bool pio)
{
	return ioeventfd(vm, fd, addr, len, pio ? KVM_IOEVENTFD_FLAG_PIO : 0, 0);
}

int ioeventfd_deassign(struct vm *vm, int fd, uint64_t addr, uint32_t len, bool pio)
{
	return ioeventfd(vm, fd, addr, len,
			 KVM_IOEVENTFD_FLAG_DEASSIGN | (pio ? KVM_IOEVENTFD_FLAG_PIO : 0), 0);
}

int ioeventfd_assign_match(struct vm *vm, int fd, uint16_t port, uint32_t len, uint64_t match)
{
	return ioeventfd(vm, fd, port, len, KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH,
			 match);
}

int ioeventfd_deassign_match(struct vm *vm, int fd, uint16_t port, uint32_t len, uint64_t match)
{
	return ioeventfd(vm, fd, port, len,
			 KVM_IOEVENTFD_FLAG_DEASSIGN | KVM_IOEVENTFD_FLAG_PIO |
				 KVM_IOEVENTFD_FLAG_DATAMATCH,
			 match);
}
