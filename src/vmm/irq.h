/* Interrupt plumbing to KVM: the GSI routing table (legacy irqchip pins
 * plus MSI routes), irqfds that inject without a vCPU exit, and ioeventfds
 * that turn guest doorbell writes into eventfd signals. */
#ifndef SARDINE_IRQ_H
#define SARDINE_IRQ_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;

#define IRQ_LEGACY_GSIS 24 /* IOAPIC pins; 0-15 also reach the PICs */
#define IRQ_MAX_GSIS 1024

struct irq_router {
	pthread_mutex_t lock;
	struct kvm_irq_routing_entry *msi; /* indexed by gsi - IRQ_LEGACY_GSIS */
	bool *msi_used;   /* allocated to a device */
	bool *msi_routed; /* has a route in KVM's table */
	unsigned int nr_msi;
};

int irq_router_init(struct irq_router *r);
void irq_router_destroy(struct irq_router *r);

/* An MSI GSI: allocate, (re)point at address/data, free. */
int irq_msi_alloc(struct vm *vm, uint32_t *gsi);
int irq_msi_route(struct vm *vm, uint32_t gsi, uint64_t address, uint32_t data);
void irq_msi_free(struct vm *vm, uint32_t gsi);

int irqfd_assign(struct vm *vm, int fd, uint32_t gsi);
int irqfd_deassign(struct vm *vm, int fd, uint32_t gsi);
int ioeventfd_assign(struct vm *vm, int fd, uint64_t addr, uint32_t len, bool pio);
int ioeventfd_deassign(struct vm *vm, int fd, uint64_t addr, uint32_t len, bool pio);
/* A port I/O ioeventfd that fires only when the guest writes `match`:
 * several queues share one notification port, told apart by the value. */
int ioeventfd_assign_match(struct vm *vm, int fd, uint16_t port, uint32_t len, uint64_t match);
int ioeventfd_deassign_match(struct vm *vm, int fd, uint16_t port, uint32_t len, uint64_t match);

#endif
