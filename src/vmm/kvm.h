/* The /dev/kvm system handle: API version and capability checks. */
#ifndef SARDINE_KVM_H
#define SARDINE_KVM_H

#include <stdbool.h>
#include <stddef.h>

struct kvm {
	int fd;
	size_t run_mmap_size;
	int max_vcpus;
	bool is_pvm;          /* kvm_pvm: a software hypervisor, see kvm_open */
	bool has_tsc_deadline;
	bool has_binary_stats;
	bool has_xsave;
	bool has_adjust_clock;
};

/* Opens /dev/kvm and checks every capability sardine relies on.  Logs one
 * clear line and returns -errno when something is missing. */
int kvm_open(struct kvm *kvm, const char *path);
void kvm_close(struct kvm *kvm);
int kvm_check_extension(int fd, long cap);

#endif
