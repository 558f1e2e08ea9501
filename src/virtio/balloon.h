/* virtio-balloon: the control side other parts of sardine use (the API,
 * the CLI through it, and the automatic sizing policy). */
#ifndef SARDINE_VIRTIO_BALLOON_H
#define SARDINE_VIRTIO_BALLOON_H

#include <stdbool.h>
#include <stdint.h>

struct virtio_dev;

/* Guest statistics (virtio 1.2 5.5.6.3), in bytes; -1 when not reported. */
enum balloon_stat {
	BALLOON_SWAP_IN,
	BALLOON_SWAP_OUT,
	BALLOON_MAJOR_FAULTS,
	BALLOON_MINOR_FAULTS,
	BALLOON_FREE_MEMORY,
	BALLOON_TOTAL_MEMORY,
	BALLOON_AVAILABLE_MEMORY,
	BALLOON_DISK_CACHES,
	BALLOON_HUGETLB_ALLOCATIONS,
	BALLOON_HUGETLB_FAILURES,
	BALLOON_NR_STATS,
};

struct balloon_info {
	uint64_t target_bytes;   /* what sardine asks the guest to give */
	uint64_t actual_bytes;   /* what the guest says it gave */
	int64_t stats[BALLOON_NR_STATS];
	uint64_t stats_age_ms;   /* since the guest last refreshed them; UINT64_MAX: never */
	uint64_t inflated_pages, deflated_pages, reported_bytes; /* counters */
	bool free_page_reporting, deflate_on_oom, stats_queue; /* negotiated */
};

bool virtio_is_balloon(const struct virtio_dev *d);
/* The balloon's target, rounded down to 4 KiB pages; -EINVAL unless it is
 * smaller than guest RAM.  Safe from any thread. */
int virtio_balloon_set_target(struct virtio_dev *d, uint64_t bytes);
void virtio_balloon_info(struct virtio_dev *d, struct balloon_info *out);
const char *balloon_stat_name(enum balloon_stat s);

#endif
