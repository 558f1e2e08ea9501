/* Constructors of the virtio devices sardine offers. */
#ifndef SARDINE_VIRTIO_DEVICES_H
#define SARDINE_VIRTIO_DEVICES_H

struct console;
struct net_backend;
struct net_config;
struct vm;
struct virtio_dev;

int virtio_rng_create(struct vm *vm, struct virtio_dev **out);
int virtio_console_create(struct vm *vm, struct console *console, struct virtio_dev **out);
/* The index-th NIC (virtio-net<index>) on an open backend, which the
 * caller keeps owning (it outlives the device across reboots). */
int virtio_net_create(struct vm *vm, const struct net_config *nc, struct net_backend *backend,
		      unsigned int index, struct virtio_dev **out);

#endif
