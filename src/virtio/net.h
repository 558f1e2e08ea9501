/* virtio-net: what the rest of sardine may ask of a network device.
 *
 * Link state is sardine's to set (the guest sees VIRTIO_NET_S_LINK_UP and a
 * configuration interrupt); today the control loop toggles every NIC's link
 * on SIGUSR2, and the API will call virtio_net_set_link() directly. */
#ifndef SARDINE_VIRTIO_NET_H
#define SARDINE_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

struct virtio_dev;

/* Counters, summed over the queue pairs.  rx is TAP -> guest, tx guest ->
 * TAP.  Dropped frames are counted once in rx_dropped/tx_dropped and once
 * by reason; frames refused by the receive filter the driver set are not
 * drops. */
struct virtio_net_counters {
	uint64_t rx_packets, rx_bytes, rx_dropped;
	uint64_t tx_packets, tx_bytes, tx_dropped;
	uint64_t runt;         /* shorter than an Ethernet header */
	uint64_t oversize;     /* longer than the MTU or the guest's buffers */
	uint64_t bad_header;   /* virtio-net header not valid or not negotiated */
	uint64_t link_down;    /* guest frames discarded while the link is down */
	uint64_t backend_errors; /* the TAP refused a frame (or a read failed) */
	uint64_t bad_buffers;  /* receive buffers unusable (too small, readable) */
	uint64_t filtered;     /* refused by the driver's receive filter */
	/* How the work was batched: wakeups by the driver (kicks), interrupts
	 * sent, and backend reads/writes that found nothing to do. */
	uint64_t rx_kicks, tx_kicks, rx_interrupts, tx_interrupts;
	uint64_t rx_starved;   /* times the driver had posted too few buffers */
	/* Frames longer than an Ethernet frame (1514 bytes): segments that
	 * crossed whole thanks to TSO/GSO on one side and GRO on the other. */
	uint64_t rx_large, tx_large;
};

bool virtio_is_net(const struct virtio_dev *d);
/* Link up or down, as the guest sees it (carrier).  Safe from any thread. */
void virtio_net_set_link(struct virtio_dev *d, bool up);
bool virtio_net_link_up(struct virtio_dev *d);
/* Ask the guest to announce itself (gratuitous ARP, e.g. after a restore),
 * when it negotiated GUEST_ANNOUNCE; -ENOTSUP otherwise. */
int virtio_net_announce(struct virtio_dev *d);
void virtio_net_get_counters(struct virtio_dev *d, struct virtio_net_counters *out);
/* Counters of queue pair `pair` only; -EINVAL past the last one. */
int virtio_net_get_pair_counters(struct virtio_dev *d, unsigned int pair,
				 struct virtio_net_counters *out);
unsigned int virtio_net_pairs(struct virtio_dev *d);

#endif
