#define LOG_TAG "vm"
#include "vmm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "block/block.h"
#include "hw/pci.h"
#include "virtio/devices.h"
#include "virtio/transport.h"
#include "virtio/virtio.h"
#include "vmm/arch.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"

static int create_kvm_vm(struct vm *vm)
{
	do {
		vm->fd = ioctl(vm->kvm->fd, KVM_CREATE_VM, 0);
	} while (vm->fd < 0 && errno == EINTR);
	if (vm->fd < 0) {
		int err = -errno;

		log_error("KVM_CREATE_VM: %s", strerror(errno));
		return err;
	}
	return 0;
}

static int setup_memory(struct vm *vm)
{
	struct guest_mem_layout layout = {
		.ram_size = vm->cfg->mem_size,
		.mergeable = !vm->cfg->no_merge,
		.hugepages = true,
	};
	int ret;

	arch_memory_layout(vm->cfg, &layout.hole_start, &layout.hole_end);
	ret = guest_mem_init(&vm->mem, &layout);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < vm->mem.nr_regions; i++) {
		const struct guest_region *r = &vm->mem.region[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uint64_t)(uintptr_t)r->hva,
		};

		if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
			ret = -errno;
			log_error("KVM_SET_USER_MEMORY_REGION %u: %s", i, strerror(errno));
			return ret;
		}
	}
	return 0;
}

/* Puts the device a constructor returned in *slot on the PCI bus;
 * `created` is the constructor's result (0 or -errno).  A pointer, not the
 * device: the constructor runs while the arguments are evaluated. */
static int add_virtio(struct vm *vm, int created, struct virtio_dev *const *slot)
{
	struct virtio_dev *d;
	int ret;

	if (created)
		return created;
	d = *slot;
	if (vm->nr_virtio == VM_MAX_VIRTIO) {
		d->ops->destroy(d);
		return -ENOSPC;
	}
	vm->virtio[vm->nr_virtio++] = d;
	ret = virtio_dev_attach(d);
	if (ret) {
		vm->nr_virtio--;
		d->ops->destroy(d);
	}
	return ret;
}

/* The PCI bus and the paravirtual devices the configuration asks for. */
static int create_pci_devices(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct virtio_dev *d = NULL;
	unsigned int i;
	int ret;

	ret = pci_host_create(&vm->pci, vm, vm->pci_mmio64_base, vm->pci_mmio64_size);
	if (!ret && !cfg->no_rng)
		ret = add_virtio(vm, virtio_rng_create(vm, &d), &d);
	if (!ret && cfg->balloon.enabled)
		ret = add_virtio(vm, virtio_balloon_create(vm, &cfg->balloon, &d), &d);
	if (!ret && cfg->console == CONSOLE_VIRTIO)
		ret = add_virtio(vm, virtio_console_create(vm, vm->console, &d), &d);
	for (i = 0; !ret && i < cfg->nr_disks; i++)
		ret = add_virtio(vm, virtio_blk_create(vm, i, &cfg->disks[i], &vm->disks[i], &d), &d);
	for (i = 0; !ret && vm->nets && i < cfg->nr_nets; i++)
		ret = add_virtio(vm, virtio_net_create(vm, &cfg->nets[i], vm->nets[i], i, &d), &d);
	for (i = 0; !ret && i < cfg->nr_shares; i++)
		ret = add_virtio(vm, virtio_9p_create(vm, &cfg->shares[i], i, &d), &d);
	return ret;
}

static void destroy_pci_devices(struct vm *vm)
{
	while (vm->nr_virtio) {
		struct virtio_dev *d = vm->virtio[--vm->nr_virtio];

		d->transport->ops->destroy(d);
		d->ops->destroy(d);
	}
	pci_host_destroy(vm->pci);
	vm->pci = NULL;
}

static int create_vcpus(struct vm *vm)
{
	int ret;

	vm->vcpus = calloc(vm->cfg->nr_cpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned int i = 0; i < vm->cfg->nr_cpus; i++) {
		ret = vcpu_create(&vm->vcpus[i], vm, i);
		if (ret)
			return ret;
		vm->nr_vcpus++;
	}
	return 0;
}

static uint64_t elapsed_us(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(((int64_t)now.tv_sec - since->tv_sec) * 1000000 +
			  ((int64_t)now.tv_nsec - since->tv_nsec) / 1000);
}

/* The boot sequence, in order.  On failure vm_destroy() undoes whatever
 * part was done. */
int vm_create(struct vm **out, const struct vm_config *cfg, struct kvm *kvm,
	      struct console *console, struct event_loop *ctl_loop, struct blk_image *disks,
	      struct net_backend *const *nets)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	struct timespec t0;
	uint64_t t_mem, t_dev, t_load;
	int ret;

	if (!vm)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	vm->cfg = cfg;
	vm->kvm = kvm;
	vm->fd = -1;
	vm->console = console;
	vm->ctl_loop = ctl_loop;
	vm->disks = disks;
	vm->nets = nets;
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	vm->exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->exit_fd < 0) {
		ret = -errno;
		goto err;
	}
	ret = create_kvm_vm(vm);
	if (ret)
		goto err;
	ret = setup_memory(vm);
	if (ret)
		goto err;
	t_mem = elapsed_us(&t0);
	ret = arch_vm_init(vm);
	if (ret)
		goto err;
	ret = irq_router_init(&vm->irq);
	if (ret)
		goto err;
	vm->irq_ready = true;
	ret = arch_create_devices(vm);
	if (ret)
		goto err;
	ret = create_pci_devices(vm);
	if (ret)
		goto err;
	t_dev = elapsed_us(&t0);
	ret = arch_load_guest(vm);
	if (ret)
		goto err;
	t_load = elapsed_us(&t0);
	ret = create_vcpus(vm);
	if (ret)
		goto err;
	log_info("VM built in %llu us (memory %llu, devices %llu, guest load %llu, vCPUs %llu)",
		 (unsigned long long)elapsed_us(&t0), (unsigned long long)t_mem,
		 (unsigned long long)(t_dev - t_mem), (unsigned long long)(t_load - t_dev),
		 (unsigned long long)(elapsed_us(&t0) - t_load));
	*out = vm;
	return 0;

err:
	vm_destroy(vm);
	return ret;
}

int vm_start(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		int ret = vcpu_start(&vm->vcpus[i]);

		if (ret) {
			log_error("cannot start vCPU %u thread: %s", i, strerror(-ret));
			vm_request_exit(vm, VM_EXIT_ERROR);
			return ret;
		}
	}
	return 0;
}

enum vm_exit vm_exit_reason(const struct vm *vm)
{
	return (enum vm_exit)__atomic_load_n(&vm->exit_reason, __ATOMIC_ACQUIRE);
}

void vm_request_exit(struct vm *vm, enum vm_exit reason)
{
	int expected = VM_EXIT_NONE;
	uint64_t one = 1;

	if (!__atomic_compare_exchange_n(&vm->exit_reason, &expected, (int)reason, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	/* Wake parked vCPUs and the controlling loop; running vCPUs are
	 * kicked by vm_stop(). */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	if (write(vm->exit_fd, &one, sizeof(one)) < 0)
		log_debug("exit eventfd: %s", strerror(errno));
}

#define PAUSE_TIMEOUT_S 5

/* Parks every vCPU: each sees pause_requested when it leaves KVM_RUN (the
 * kick makes it leave), counts itself in nr_parked and waits. */
static int park_vcpus(struct vm *vm)
{
	struct timespec deadline;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += PAUSE_TIMEOUT_S;
	pthread_mutex_lock(&vm->pause_lock);
	vm->pause_requested = true;
	pthread_mutex_unlock(&vm->pause_lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->nr_parked < vm->nr_vcpus && vm_exit_reason(vm) == VM_EXIT_NONE && !ret)
		ret = pthread_cond_timedwait(&vm->pause_cond, &vm->pause_lock, &deadline);
	if (vm->nr_parked < vm->nr_vcpus) {
		ret = vm_exit_reason(vm) != VM_EXIT_NONE ? -ESHUTDOWN : -ETIMEDOUT;
		vm->pause_requested = false;
		pthread_cond_broadcast(&vm->pause_cond);
	} else {
		ret = 0;
	}
	pthread_mutex_unlock(&vm->pause_lock);
	return ret;
}

/* kvm-clock, read at the pause and written back at resume: the guest's
 * clock then stops while it is paused instead of jumping ahead by the
 * paused time at resume (which the guest would see as stalled CPUs).  The
 * guest's wall clock lags the host's by the paused time afterwards, as
 * after a suspend, until the guest corrects it (NTP). */
static void save_clock(struct vm *vm)
{
	struct kvm_clock_data clock = { 0 };

	vm->clock_saved = vm->kvm->has_adjust_clock && ioctl(vm->fd, KVM_GET_CLOCK, &clock) == 0;
	vm->saved_clock = clock.clock;
}

static void restore_clock(struct vm *vm)
{
	struct kvm_clock_data clock = { .clock = vm->saved_clock };

	if (vm->clock_saved && ioctl(vm->fd, KVM_SET_CLOCK, &clock) < 0)
		log_warn("KVM_SET_CLOCK: %s; the guest clock jumps by the paused time",
			 strerror(errno));
	vm->clock_saved = false;
}

int vm_pause(struct vm *vm)
{
	int ret;

	if (vm->paused)
		return 0;
	ret = park_vcpus(vm);
	if (ret)
		return ret;
	save_clock(vm);
	for (unsigned int i = 0; i < vm->nr_virtio; i++)
		virtio_dev_pause(vm->virtio[i]);
	vm->paused = true;
	return 0;
}

void vm_resume(struct vm *vm)
{
	if (!vm->paused)
		return;
	for (unsigned int i = 0; i < vm->nr_virtio; i++)
		virtio_dev_resume(vm->virtio[i]);
	restore_clock(vm);
	pthread_mutex_lock(&vm->pause_lock);
	vm->pause_requested = false;
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	vm->paused = false;
}

void vm_stop(struct vm *vm)
{
	vm_request_exit(vm, VM_EXIT_QUIT);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_join(&vm->vcpus[i]);
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	vm_stop(vm);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	destroy_pci_devices(vm);
	arch_vm_destroy(vm);
	if (vm->irq_ready)
		irq_router_destroy(&vm->irq);
	if (vm->fd >= 0)
		close(vm->fd);
	guest_mem_destroy(&vm->mem);
	bus_destroy(&vm->mmio);
	bus_destroy(&vm->pio);
	if (vm->exit_fd >= 0)
		close(vm->exit_fd);
	pthread_mutex_destroy(&vm->pause_lock);
	pthread_cond_destroy(&vm->pause_cond);
	free(vm);
}

int vm_set_irq_line(struct vm *vm, unsigned int gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = (uint32_t)level };

	if (ioctl(vm->fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}
