/* A vCPU: one thread that runs KVM_RUN and dispatches exits, nothing more.
 * Device work happens on I/O threads; a vCPU only forwards PIO/MMIO. */
#ifndef SARDINE_VCPU_H
#define SARDINE_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;

/* Exit reasons counted per vCPU (the ones sardine sees in userspace). */
enum vcpu_stat {
	VCPU_STAT_IO,
	VCPU_STAT_MMIO,
	VCPU_STAT_INTR,
	VCPU_STAT_HLT,
	VCPU_STAT_SYSTEM_EVENT,
	VCPU_STAT_OTHER,
	VCPU_STAT_NR,
};

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	uint64_t stats[VCPU_STAT_NR];
	/* KVM's binary statistics (KVM_GET_STATS_FD), -1 without.  Opened
	 * here because the ioctl waits for the vCPU to leave KVM_RUN, which
	 * a vCPU waiting for its start-up IPI never does; reading it later
	 * (vm.counters) needs no lock. */
	int stats_fd;
};

int vcpu_create(struct vcpu *vcpu, struct vm *vm, unsigned int id);
void vcpu_destroy(struct vcpu *vcpu);
int vcpu_start(struct vcpu *vcpu);
/* Interrupt KVM_RUN so the thread re-checks the VM state. */
void vcpu_kick(struct vcpu *vcpu);
void vcpu_join(struct vcpu *vcpu);

/* Installs the (empty) kick signal handler; call once before any vCPU. */
int vcpu_signals_init(void);

#endif
