/* Network backends: where a virtio-net device's frames go.
 *
 * A backend is a set of queues (one per virtio-net queue pair), each a
 * non-blocking file descriptor carrying whole Ethernet frames, every frame
 * preceded by a virtio-net header of hdr_len bytes (struct virtio_net_hdr
 * plus num_buffers: the device and the backend speak the same header, so
 * frames move between guest memory and the kernel without being copied or
 * rewritten by sardine).  The device polls queue_fd() on its I/O threads and
 * calls recv()/send() there.
 *
 * Offloads use the virtio/TUN meaning: with NET_OFFLOAD_TSO4 set the
 * backend may hand the device unsegmented TCPv4 frames (the guest accepted
 * them); what the device sends may always carry the GSO types the backend
 * reports in `caps`.  Only the TAP backend exists today (net/tap.c). */
#ifndef SARDINE_NET_BACKEND_H
#define SARDINE_NET_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define NET_OFFLOAD_CSUM (1u << 0)
#define NET_OFFLOAD_TSO4 (1u << 1)
#define NET_OFFLOAD_TSO6 (1u << 2)
#define NET_OFFLOAD_ECN (1u << 3)
#define NET_OFFLOAD_UFO (1u << 4)
#define NET_OFFLOAD_USO4 (1u << 5)
#define NET_OFFLOAD_USO6 (1u << 6)

#define NET_MAX_QUEUES 64

struct net_backend;

struct net_backend_ops {
	/* One frame, header first, into iov.  Returns the frame's full length
	 * even when iov was too short for it (the rest is lost: the caller
	 * drops a frame longer than what it offered), -EAGAIN when none is
	 * waiting, or another -errno. */
	ssize_t (*recv)(struct net_backend *b, unsigned int q, const struct iovec *iov, int n);
	/* One frame, header first; -EAGAIN when the backend cannot take it
	 * now (wait for queue_fd() to be writable). */
	ssize_t (*send)(struct net_backend *b, unsigned int q, const struct iovec *iov, int n);
	/* Which offloads the backend may use towards the device (what the
	 * guest accepted); a subset of caps. */
	int (*set_offloads)(struct net_backend *b, unsigned int offloads);
	/* Steer (or stop steering) received traffic to queue q. */
	int (*enable_queue)(struct net_backend *b, unsigned int q, bool on);
	void (*destroy)(struct net_backend *b);
};

struct net_backend {
	const struct net_backend_ops *ops;
	char ifname[16];
	unsigned int nr_queues;
	int fds[NET_MAX_QUEUES];
	unsigned int caps;    /* NET_OFFLOAD_* the backend supports */
	unsigned int mtu;     /* of the host side, when the device was created */
	unsigned int hdr_len; /* virtio-net header bytes before every frame */
	bool multi_queue;     /* enable_queue() does something */
	bool owns_fds;        /* false: fd=N, the descriptor stays the caller's */
	bool detached[NET_MAX_QUEUES]; /* enable_queue(q, false) in effect */
};

static inline int net_backend_fd(const struct net_backend *b, unsigned int q)
{
	return b->fds[q];
}

struct net_config;

/* The backend a --net option asks for, with `default_queues` queues when
 * the option does not say (one per vCPU).  Backends are opened once per
 * sardine process and outlive guest reboots: a TAP that sardine created
 * keeps its addresses and bridge port while the guest restarts. */
int net_backend_open(const struct net_config *nc, unsigned int default_queues,
		     struct net_backend **out);
void net_backend_close(struct net_backend *b);

/* The TAP backend.  tap_open() opens (creating it if needed) the TAP
 * interface `name` with `queues` queues; tap_open_fd() takes over a TAP
 * descriptor opened by someone else (one queue; it must have been created
 * with IFF_VNET_HDR).  Both log the reason once and return -errno. */
int tap_open(const char *name, unsigned int queues, unsigned int hdr_len,
	     struct net_backend **out);
int tap_open_fd(int fd, unsigned int hdr_len, struct net_backend **out);

/* A locally administered unicast MAC derived from the VM's name and the
 * device's index: stable across runs, different for different names. */
void net_default_mac(const char *vm_name, unsigned int index, uint8_t mac[6]);
/* "52:54:00:12:34:56" into buf (at least 18 bytes). */
void net_format_mac(const uint8_t mac[6], char *buf);

#endif
