/* The memory side of the REST API (docs/api.md, docs/density.md):
 *   vm.resize          {"desired_balloon": BYTES}: the balloon's new target
 *   vm.balloon-stats   the balloon's sizes, the guest's statistics, counters
 *   vm.info            memory_actual_size (RAM minus the balloon), "balloon"
 *   vm.counters        "memory": the VMM process's RSS and KSM figures
 * Parsing and checks are pure (unit tested); the rest runs on the control
 * thread, where the VM cannot change under it. */
#ifndef SARDINE_API_MEMORY_H
#define SARDINE_API_MEMORY_H

#include <stddef.h>
#include <stdint.h>

struct api_response;
struct json_object;
struct vm;
struct vm_config;
struct virtio_dev;

/* vm.resize's body (cloud-hypervisor's VmResize) -> the balloon size in
 * bytes.  desired_vcpus and desired_ram are refused unless null.  Returns 0,
 * or -EINVAL with one line in err. */
int resize_parse(const char *body, size_t len, uint64_t *desired_balloon, char *err,
		 size_t errlen);
/* May cfg's balloon take that size?  0, or the HTTP status (409: no
 * balloon, or one sized automatically; 400: not smaller than guest RAM)
 * with one line in err. */
unsigned int resize_check(const struct vm_config *cfg, uint64_t bytes, char *err, size_t errlen);
/* vm.resize: the booted VM's balloon (vm NULL: the next boot's) gets the
 * new target, and cfg remembers it (a reboot keeps it, vm.info shows it). */
void api_resize(struct vm_config *cfg, struct vm *vm, uint64_t bytes, struct api_response *resp);
/* vm.balloon-stats of a booted VM. */
void api_balloon_stats(const struct vm_config *cfg, struct vm *vm, struct api_response *resp);

/* The VM's balloon device, or NULL. */
struct virtio_dev *vm_balloon(struct vm *vm);
/* vm.info: memory_actual_size (configured RAM minus what the balloon
 * holds) and, with a booted balloon, "balloon": {target_bytes,
 * actual_bytes}.  vm may be NULL (not booted). */
void report_info_memory(struct json_object *info, const struct vm_config *cfg, struct vm *vm);
/* vm.counters: the balloon's sizes and page counters, added to its
 * device's counters. */
void report_balloon_counters(struct json_object *dev, struct virtio_dev *d);
/* vm.counters "memory": rss_bytes, rss_anon_bytes, rss_file_bytes,
 * rss_shmem_bytes, swap_bytes (proc_dir/status) and the KSM figures
 * ksm_merging_pages, ksm_rmap_items, ksm_zero_pages, ksm_process_profit
 * (proc_dir/ksm_merging_pages, proc_dir/ksm_stat); what the kernel lacks
 * is left out.  proc_dir: "/proc/self" (tests give another).  NULL on
 * ENOMEM. */
struct json_object *report_process_memory(const char *proc_dir);

#endif
