/* Constructors of the virtio devices sardine offers. */
#ifndef SARDINE_VIRTIO_DEVICES_H
#define SARDINE_VIRTIO_DEVICES_H

struct balloon_config;
struct console;
struct net_backend;
struct net_config;
struct vm;
struct virtio_dev;
struct disk_config;
struct blk_image;
struct share_config;

int virtio_rng_create(struct vm *vm, struct virtio_dev **out);
int virtio_balloon_create(struct vm *vm, const struct balloon_config *cfg, struct virtio_dev **out);
int virtio_console_create(struct vm *vm, struct console *console, struct virtio_dev **out);
/* Disk `index` (virtio-blk<index>) on an open image the caller keeps
 * (it outlives reboots); logs why not. */
int virtio_blk_create(struct vm *vm, unsigned int index, const struct disk_config *cfg,
		      struct blk_image *img, struct virtio_dev **out);
/* The index-th NIC (virtio-net<index>) on an open backend, which the
 * caller keeps owning (it outlives the device across reboots). */
int virtio_net_create(struct vm *vm, const struct net_config *nc, struct net_backend *backend,
		      unsigned int index, struct virtio_dev **out);
/* --share: a virtio-9p device serving share->path under share->tag. */
int virtio_9p_create(struct vm *vm, const struct share_config *share, unsigned int index,
		     struct virtio_dev **out);

#endif
