/* JSON reports about a running VM (control thread only: the VM may not
 * change under them). */
#ifndef SARDINE_API_REPORT_H
#define SARDINE_API_REPORT_H

struct vm;
struct json_object;

/* vm.counters: {"virtio-rng0": {"requests": N, ...}, "vcpu0": {...}, ...}.
 * Devices: requests, read_bytes, write_bytes, errors (what the device
 * counted); COM1: bytes each way; vCPUs: the exits sardine handled, by
 * reason, and KVM's own binary statistics ("kvm_" + KVM's name) where the
 * kernel has KVM_GET_STATS_FD; the balloon adds its sizes and page counters;
 * "memory": the VMM process's RSS and KSM figures (api/memory.h). */
struct json_object *report_counters(struct vm *vm);

#endif
