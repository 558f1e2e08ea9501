/* The device side of virtio: what every device implements, and the few
 * calls a device makes back into its transport.
 *
 * A device states its type, features, queues and config space, and
 * implements activate/reset.  The transport (virtio/pci.c) owns device
 * status, feature negotiation, ring addresses and interrupts; a device never
 * knows it sits on PCI.  Queue notifications reach the device's
 * queue_notify() on one of its I/O threads (event loops), never on a vCPU.
 *
 * Copy virtio/rng.c to start a new device. */
#ifndef SARDINE_VIRTIO_H
#define SARDINE_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio/queue.h"
#include "vmm/event_loop.h"
#include "vmm/log.h"

struct vm;

/* Device types (virtio 1.2, section 5). */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4
#define VIRTIO_ID_BALLOON 5
#define VIRTIO_ID_9P 9

/* Transport-independent feature bits. */
#define VIRTIO_F_INDIRECT_DESC (1ULL << 28)
#define VIRTIO_F_EVENT_IDX (1ULL << 29)
#define VIRTIO_F_VERSION_1 (1ULL << 32)

/* Device status bits. */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

#define VIRTIO_MAX_QUEUES 1024
#define VIRTIO_MAX_IO_THREADS 64

struct virtio_dev;

struct virtio_dev_ops {
	/* Device-specific configuration space; offsets and lengths are
	 * already checked against config_len. */
	void (*config_read)(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len);
	void (*config_write)(struct virtio_dev *d, uint32_t off, const uint8_t *data,
			     uint32_t len);
	/* DRIVER_OK: features are final and enabled queues are validated. */
	int (*activate)(struct virtio_dev *d);
	/* Stop all work and forget per-driver state; on return nothing of the
	 * device touches guest memory any more. */
	void (*reset)(struct virtio_dev *d);
	/* The driver kicked queue q; runs on the queue's I/O thread. */
	void (*queue_notify)(struct virtio_dev *d, unsigned int q);
	/* Optional, for vm.pause.  pause() is called once queue kicks have
	 * stopped (no queue_notify runs any more): return when no request
	 * is in flight and nothing else (a TAP, a timer, a host socket) will
	 * touch guest memory or raise an interrupt until resume().  NULL: the
	 * device does all its work inside queue_notify. */
	void (*pause)(struct virtio_dev *d);
	void (*resume)(struct virtio_dev *d);
	void (*destroy)(struct virtio_dev *d);
};

/* Per-device counters for vm.counters. */
struct virtio_stats {
	uint64_t requests;
	uint64_t read_bytes;
	uint64_t write_bytes;
	uint64_t errors;
};

struct virtio_transport;

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	const char *name;   /* "virtio-blk0" */
	uint16_t type;
	uint64_t features;  /* offered */
	uint64_t acked;     /* negotiated; valid from FEATURES_OK */
	uint32_t config_len;
	unsigned int nr_queues;
	struct virtqueue *vqs;
	uint8_t status;
	uint8_t config_generation;
	bool broken;        /* NEEDS_RESET: ignore the rings until reset */
	struct vm *vm;
	unsigned int nr_loops;
	struct event_loop *loops; /* queue q runs on loops[q / queues_per_loop % nr_loops] */
	unsigned int queues_per_loop; /* consecutive queues kept on one loop (0: 1) */
	/* Every loop serves every queue: a kick wakes one idle loop, and the
	 * device locks its rings itself (virtio-9p's worker pool). */
	bool queues_on_every_loop;
	struct virtio_transport *transport;
	struct virtio_stats stats;
	struct log_ratelimit rl;
	void *priv;
};

/* Set up the common part; the device then fills features, config, ops. */
int virtio_dev_init(struct virtio_dev *d, struct vm *vm, const char *name, uint16_t type,
		    unsigned int nr_queues, uint16_t queue_size, unsigned int nr_loops);
void virtio_dev_cleanup(struct virtio_dev *d);
/* Puts the device on the VM's PCI bus. */
int virtio_dev_attach(struct virtio_dev *d);

bool virtio_has_feature(const struct virtio_dev *d, uint64_t bit);
/* Interrupt the driver for queue q if it wants one (EVENT_IDX etc.);
 * true when it did. */
bool virtio_notify_queue(struct virtio_dev *d, unsigned int q);
void virtio_notify_config(struct virtio_dev *d);
/* Kick queue q as the driver would: with queues_on_every_loop, wakes an
 * idle loop to share out requests already waiting. */
void virtio_kick_queue(struct virtio_dev *d, unsigned int q);
/* The guest broke the protocol: log once (rate limited), mark the device
 * NEEDS_RESET, stop touching its rings.  sardine keeps running. */
void virtio_set_broken(struct virtio_dev *d, const char *why);
/* vm.pause/vm.resume: stop taking queue kicks and let the device finish
 * (see ops->pause), then start again. */
void virtio_dev_pause(struct virtio_dev *d);
void virtio_dev_resume(struct virtio_dev *d);
/* The I/O loop serving queue q. */
struct event_loop *virtio_queue_loop(struct virtio_dev *d, unsigned int q);
/* The loops that take queue q's kicks: *n of them from the one returned
 * (every loop with queues_on_every_loop, else virtio_queue_loop's one). */
struct event_loop *virtio_queue_loops(struct virtio_dev *d, unsigned int q, unsigned int *n);

#endif
