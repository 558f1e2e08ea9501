#define LOG_TAG "vcpu"
#include "vmm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/arch.h"
#include "vmm/log.h"
#include "vmm/vm.h"
#include "vmm/thread.h"

/* A kick sets kvm_run.immediate_exit and then sends SIGUSR1 to the vCPU
 * thread.  Inside KVM_RUN the signal makes it return; if the thread is in
 * userspace, immediate_exit makes its next KVM_RUN return at once.  The vCPU
 * clears the flag before it looks at the VM state again, so no kick is lost,
 * and KVM_RUN needs no signal-mask switch on every entry. */
#define VCPU_KICK_SIGNAL SIGUSR1

static void kick_handler(int sig)
{
	(void)sig;
}

int vcpu_signals_init(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return -errno;
	return 0;
}

int vcpu_create(struct vcpu *vcpu, struct vm *vm, unsigned int id)
{
	int ret;

	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->stats_fd = -1;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		ret = -errno;
		log_error("KVM_CREATE_VCPU %u: %s", id, strerror(errno));
		return ret;
	}
	vcpu->run = mmap(NULL, vm->kvm->run_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		ret = -errno;
		log_error("mmap of vCPU %u run area: %s", id, strerror(errno));
		vcpu->run = NULL;
		goto err_fd;
	}
	ret = arch_vcpu_init(vcpu);
	if (ret)
		goto err_run;
	vcpu->stats_fd = vm->kvm->has_binary_stats ? ioctl(vcpu->fd, KVM_GET_STATS_FD, NULL) : -1;
	return 0;

err_run:
	munmap(vcpu->run, vm->kvm->run_mmap_size);
	vcpu->run = NULL;
err_fd:
	close(vcpu->fd);
	vcpu->fd = -1;
	return ret;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->kvm->run_mmap_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	if (vcpu->stats_fd >= 0)
		close(vcpu->stats_fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
	vcpu->stats_fd = -1;
}

static void handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned int size = run->io.size;

	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			bus_write(&vcpu->vm->pio, run->io.port, data, size);
		else
			bus_read(&vcpu->vm->pio, run->io.port, data, size);
	}
}

static void handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	unsigned int len = run->mmio.len > 8 ? 8 : run->mmio.len;

	if (run->mmio.is_write)
		bus_write(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, len);
	else
		bus_read(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, len);
}

static void handle_system_event(struct vcpu *vcpu)
{
	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_exit(vcpu->vm, VM_EXIT_POWEROFF);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_exit(vcpu->vm, VM_EXIT_REBOOT);
		break;
	default:
		log_error("vCPU %u: guest crashed (system event %u)", vcpu->id,
			  vcpu->run->system_event.type);
		arch_vcpu_dump(vcpu);
		vm_request_exit(vcpu->vm, VM_EXIT_ERROR);
		break;
	}
}

static void fatal_exit(struct vcpu *vcpu, const char *what)
{
	log_error("vCPU %u: %s", vcpu->id, what);
	arch_vcpu_dump(vcpu);
	vm_request_exit(vcpu->vm, VM_EXIT_ERROR);
}

/* One exit; returns false when the vCPU must stop. */
static bool dispatch_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char msg[160];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu->stats[VCPU_STAT_IO]++;
		handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		vcpu->stats[VCPU_STAT_MMIO]++;
		handle_mmio(vcpu);
		return true;
	case KVM_EXIT_INTR:
		vcpu->stats[VCPU_STAT_INTR]++;
		return true;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; keep going. */
		vcpu->stats[VCPU_STAT_HLT]++;
		return true;
	case KVM_EXIT_SYSTEM_EVENT:
		vcpu->stats[VCPU_STAT_SYSTEM_EVENT]++;
		handle_system_event(vcpu);
		return false;
	case KVM_EXIT_SHUTDOWN:
		fatal_exit(vcpu, "triple fault: the guest CPU shut down");
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(msg, sizeof(msg), "KVM could not enter the guest (hardware reason %#llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		fatal_exit(vcpu, msg);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(msg, sizeof(msg), "KVM internal error (suberror %u%s)",
			 run->internal.suberror,
			 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
				 ": instruction emulation failed" : "");
		fatal_exit(vcpu, msg);
		return false;
	default:
		vcpu->stats[VCPU_STAT_OTHER]++;
		snprintf(msg, sizeof(msg), "unexpected KVM exit reason %u", run->exit_reason);
		fatal_exit(vcpu, msg);
		return false;
	}
}

/* Parks the calling vCPU while the VM is paused.  Returns false to stop. */
static bool wait_if_paused(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	/* The flag a kick set is cleared before the state is read again. */
	__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&vm->pause_requested, __ATOMIC_ACQUIRE))
		return vm_exit_reason(vm) == VM_EXIT_NONE;
	pthread_mutex_lock(&vm->pause_lock);
	if (vm->pause_requested) {
		vm->nr_parked++;
		pthread_cond_broadcast(&vm->pause_cond);
		while (vm->pause_requested && vm_exit_reason(vm) == VM_EXIT_NONE)
			pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
		vm->nr_parked--;
	}
	pthread_mutex_unlock(&vm->pause_lock);
	return vm_exit_reason(vm) == VM_EXIT_NONE;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	while (wait_if_paused(vcpu)) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu->stats[VCPU_STAT_INTR]++;
				continue;
			}
			log_error("vCPU %u: KVM_RUN: %s", vcpu->id, strerror(errno));
			arch_vcpu_dump(vcpu);
			vm_request_exit(vm, VM_EXIT_ERROR);
			break;
		}
		if (!dispatch_exit(vcpu))
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	char name[16];
	int ret;

	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	ret = thread_start(&vcpu->thread, THREAD_STACK_VCPU, name, vcpu_thread, vcpu);
	if (ret)
		return ret;
	vcpu->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->started)
		return;
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *vcpu)
{
	if (vcpu->started) {
		pthread_join(vcpu->thread, NULL);
		vcpu->started = false;
	}
}
