/* Constructors of the virtio devices sardine offers. */
#ifndef SARDINE_VIRTIO_DEVICES_H
#define SARDINE_VIRTIO_DEVICES_H

struct vm;
struct virtio_dev;
struct share_config;

int virtio_rng_create(struct vm *vm, struct virtio_dev **out);
/* --share: a virtio-9p device serving share->path under share->tag. */
int virtio_9p_create(struct vm *vm, const struct share_config *share, unsigned int index,
		     struct virtio_dev **out);

#endif
