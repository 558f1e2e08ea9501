/* Constructors of the virtio devices sardine offers. */
#ifndef SARDINE_VIRTIO_DEVICES_H
#define SARDINE_VIRTIO_DEVICES_H

struct vm;
struct virtio_dev;
struct disk_config;

int virtio_rng_create(struct vm *vm, struct virtio_dev **out);
/* Disk `index` (virtio-blk<index>) from its configuration; logs why not. */
int virtio_blk_create(struct vm *vm, unsigned int index, const struct disk_config *cfg,
		      struct virtio_dev **out);

#endif
