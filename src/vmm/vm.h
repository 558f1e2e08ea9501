/* struct vm: everything one virtual machine owns.  There is no global VM
 * state: buses, devices, vCPUs and the event loops hang off this struct, and
 * vm_create() is the one place that wires them together in order. */
#ifndef SARDINE_VM_H
#define SARDINE_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/vm_arch.h"
#include "vmm/bus.h"
#include "vmm/config.h"
#include "vmm/guest_mem.h"
#include "vmm/irq.h"
#include "vmm/kvm.h"

struct vcpu;
struct console;
struct event_loop;
struct uart;
struct rtc;
struct i8042;
struct acpi_pm;
struct pci_host;
struct virtio_dev;
struct blk_image;
struct net_backend;

#define VM_MAX_VIRTIO 31 /* PCI slots 1..31 */

enum vm_exit {
	VM_EXIT_NONE = 0,
	VM_EXIT_POWEROFF, /* guest powered off (ACPI S5) */
	VM_EXIT_REBOOT,   /* guest asked for a reset */
	VM_EXIT_QUIT,     /* the user or a signal ended the VM */
	VM_EXIT_ERROR,    /* triple fault, KVM internal error ... */
};

struct vm {
	const struct vm_config *cfg;
	struct kvm *kvm;
	int fd;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;

	struct vcpu *vcpus;
	unsigned int nr_vcpus;

	/* Owned by the caller; outlive a reboot. */
	struct console *console;
	struct event_loop *ctl_loop;
	struct blk_image *disks; /* cfg->nr_disks open images (locks held) */
	struct net_backend *const *nets; /* one per cfg->nets[] */

	int exit_fd;         /* eventfd, readable once a stop was requested */
	int exit_reason;     /* enum vm_exit; the first request wins */

	/* Pause: vCPUs park on `pause_cond` while `pause_requested` is set. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	bool pause_requested;
	unsigned int nr_parked;
	/* vm_pause()/vm_resume() (control thread only): vCPUs parked, device
	 * queues stopped, and kvm-clock as it read at the pause, written back
	 * at resume so that the paused time does not pass for the guest. */
	bool paused;
	bool clock_saved;
	uint64_t saved_clock;

	struct irq_router irq;
	bool irq_ready;
	struct pci_host *pci;
	uint64_t pci_mmio64_base, pci_mmio64_size;
	struct virtio_dev *virtio[VM_MAX_VIRTIO];
	unsigned int nr_virtio;

	struct uart *uart;
	struct rtc *rtc;
	struct i8042 *i8042;
	struct acpi_pm *pm;

	struct vm_arch arch;
};

int vm_create(struct vm **out, const struct vm_config *cfg, struct kvm *kvm,
	      struct console *console, struct event_loop *ctl_loop, struct blk_image *disks,
	      struct net_backend *const *nets);
int vm_start(struct vm *vm);
/* Ask the VM to stop; safe from any thread, including vCPUs and signals'
 * handlers run from the event loop.  The first reason sticks. */
void vm_request_exit(struct vm *vm, enum vm_exit reason);
enum vm_exit vm_exit_reason(const struct vm *vm);
/* Pause every vCPU (parked outside KVM_RUN) and every device's queue
 * processing, and hold the guest clock; resume undoes it.  From the control
 * thread.  vm_pause() returns -ETIMEDOUT when a vCPU does not stop within
 * seconds (the VM then keeps running), -ESHUTDOWN when the VM is ending. */
int vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
/* Stops and joins every vCPU. */
void vm_stop(struct vm *vm);
void vm_destroy(struct vm *vm);

/* Level of a legacy (ISA/GSI) interrupt line of the in-kernel irqchip. */
int vm_set_irq_line(struct vm *vm, unsigned int gsi, int level);

#endif
