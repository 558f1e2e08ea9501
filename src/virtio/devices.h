/* Constructors of the virtio devices sardine offers. */
#ifndef SARDINE_VIRTIO_DEVICES_H
#define SARDINE_VIRTIO_DEVICES_H

struct balloon_config;
struct console;
struct vm;
struct virtio_dev;

int virtio_rng_create(struct vm *vm, struct virtio_dev **out);
int virtio_balloon_create(struct vm *vm, const struct balloon_config *cfg, struct virtio_dev **out);
int virtio_console_create(struct vm *vm, struct console *console, struct virtio_dev **out);

#endif
