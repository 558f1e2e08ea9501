/* virtio-net internals shared by net.c (device, control queue, link) and
 * net_io.c (the data path).  Not for other users: see virtio/net.h.
 *
 * Queues: receive 2p, transmit 2p+1 for queue pair p, then the control
 * queue.  Each pair has one backend queue (a TAP fd) and lives on one I/O
 * thread; pairs share threads when there are more pairs than threads.
 * Everything of a pair is guarded by its lock, held while the pair works:
 * the control queue (VQ_PAIRS_SET) and link changes come from other
 * threads. */
#ifndef SARDINE_VIRTIO_NET_DEV_H
#define SARDINE_VIRTIO_NET_DEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "net/backend.h"
#include "virtio/net.h"
#include "virtio/net_proto.h"
#include "virtio/virtio.h"

#define NET_CTRL_RING 256       /* the control queue; data rings: vmm/config.h */
#define NET_RX_MAX_CHAINS 256   /* receive buffers held at once */
#define NET_RX_MAX_IOV 1023     /* their segments (+1: IOV_MAX) */
#define NET_RX_CHAIN_MAX_IOV 64 /* one buffer's segments at most */
#define NET_TX_MAX_IOV 1024     /* header copy + a frame's segments */
#define NET_RX_BUDGET 256       /* frames per wakeup, then other work */
#define NET_TX_BUDGET 256
#define NET_NOTIFY_BATCH 64     /* a frame batch the driver sees at once */

struct virtio_net;

/* A receive buffer taken from the ring, not used yet. */
struct net_rx_chain {
	uint16_t head;
	uint16_t niov;
	uint32_t len;
};

struct net_pair {
	struct virtio_net *net;
	unsigned int index;
	struct event_loop *loop;
	int fd;      /* the backend queue */
	int wake_fd; /* eventfd: the pair has more transmit work */
	pthread_mutex_t lock;
	bool usable;     /* the driver enabled both queues */
	bool active;     /* among the pairs the driver uses (VQ_PAIRS_SET) */
	bool attached;   /* the backend steers frames to it */
	bool registered; /* fd and wake_fd are in the loop */
	bool dead;       /* the backend queue failed; nothing more to do */
	uint32_t events; /* what fd is polled for now */
	bool rx_starved; /* too few receive buffers: wait for the driver */
	bool tx_blocked; /* the backend is full: wait until fd is writable */
	bool tx_held;    /* tx_elem is a frame the backend refused for now */
	/* Receive buffers in ring order; their segments, contiguous. */
	struct net_rx_chain chains[NET_RX_MAX_CHAINS];
	unsigned int nchains, niov;
	uint64_t stash_bytes;
	/* One more slot: a read also gets rx_overflow after the buffers, so a
	 * frame too long for them shows (the kernel silently cuts it). */
	struct iovec rx_iov[NET_RX_MAX_IOV + 1];
	uint8_t rx_overflow[64];
	struct virtq_elem rx_elem, tx_elem;
	struct virtio_net_hdr tx_hdr;
	struct iovec tx_iov[NET_TX_MAX_IOV];
	struct virtio_net_counters c;
};

struct virtio_net {
	struct virtio_dev dev;
	char name[16];
	struct net_backend *backend;
	unsigned int nr_pairs;     /* offered: max_virtqueue_pairs */
	unsigned int active_pairs; /* in use: VQ_PAIRS_SET, 1 before */
	struct net_pair *pairs;
	/* Fixed between activate and reset: */
	bool mergeable;
	uint64_t rx_need;          /* buffer bytes the largest frame needs */
	unsigned int offloads;     /* receive offloads set on the backend */
	/* Configuration space. */
	pthread_mutex_t cfg_lock;
	uint8_t mac[ETH_ALEN];
	uint8_t default_mac[ETH_ALEN];
	uint16_t status;
	bool link_up;              /* atomic */
	/* Receive filter: the control queue writes, receive paths read. */
	pthread_mutex_t filter_lock;
	struct net_filter filter;
	uint8_t filter_mac[ETH_ALEN];
	bool promisc;              /* atomic copy of filter.promisc */
	/* Control queue (one thread). */
	struct virtq_elem ctrl_elem;
	struct net_ctrl_cmd ctrl_cmd;
	uint8_t ctrl_buf[NET_CTRL_MAX_LEN];
};

static inline unsigned int net_ctrl_queue(const struct virtio_net *n)
{
	return 2 * n->nr_pairs;
}

/* net_io.c: the data path.  All take the pair's lock themselves. */
void net_pair_kick_rx(struct net_pair *p);
void net_pair_kick_tx(struct net_pair *p);
void net_pair_on_backend(void *opaque, uint32_t events);
void net_pair_on_wake(void *opaque, uint32_t events);
/* With the pair's lock held: poll the backend for what the pair waits on. */
void net_pair_update_events(struct net_pair *p);
/* With the pair's lock held: forget held buffers and frames (reset). */
void net_pair_clear(struct net_pair *p);

#endif
