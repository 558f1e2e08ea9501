#define LOG_TAG "virtio"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/transport.h"
#include "virtio/virtio.h"
#include "vmm/vm.h"

int virtio_dev_init(struct virtio_dev *d, struct vm *vm, const char *name, uint16_t type,
		    unsigned int nr_queues, uint16_t queue_size, unsigned int nr_loops)
{
	int ret;

	memset(d, 0, sizeof(*d));
	if (nr_queues == 0 || nr_queues > VIRTIO_MAX_QUEUES || nr_loops == 0 ||
	    nr_loops > VIRTIO_MAX_IO_THREADS)
		return -EINVAL;
	d->vm = vm;
	d->name = name;
	d->type = type;
	d->nr_queues = nr_queues;
	d->features = VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX;
	d->vqs = calloc(nr_queues, sizeof(*d->vqs));
	d->loops = calloc(nr_loops, sizeof(*d->loops));
	if (!d->vqs || !d->loops) {
		ret = -ENOMEM;
		goto err;
	}
	for (unsigned int q = 0; q < nr_queues; q++)
		virtq_init(&d->vqs[q], queue_size);
	for (; d->nr_loops < nr_loops; d->nr_loops++) {
		struct event_loop *l = &d->loops[d->nr_loops];
		char thread_name[16];

		/* One thread per loop, told apart where a device has several. */
		snprintf(thread_name, sizeof(thread_name), nr_loops > 1 ? "%s.%u" : "%s", name,
			 d->nr_loops);
		ret = event_loop_init(l, name);
		if (!ret) {
			ret = event_loop_start_thread(l, thread_name);
			if (ret)
				event_loop_destroy(l);
		}
		if (ret)
			goto err;
	}
	return 0;
err:
	virtio_dev_cleanup(d);
	return ret;
}

void virtio_dev_cleanup(struct virtio_dev *d)
{
	for (unsigned int i = 0; i < d->nr_loops; i++)
		event_loop_destroy(&d->loops[i]);
	free(d->loops);
	free(d->vqs);
	d->loops = NULL;
	d->vqs = NULL;
	d->nr_loops = 0;
}

int virtio_dev_attach(struct virtio_dev *d)
{
	return virtio_pci_attach(d);
}

bool virtio_has_feature(const struct virtio_dev *d, uint64_t bit)
{
	return d->acked & bit;
}

struct event_loop *virtio_queue_loop(struct virtio_dev *d, unsigned int q)
{
	/* A queue pair (virtio-net's rx and tx) shares one thread, so its
	 * backend queue needs no lock between the two directions. */
	unsigned int per = d->queues_per_loop ? d->queues_per_loop : 1;

	return &d->loops[(q / per) % d->nr_loops];
}

struct event_loop *virtio_queue_loops(struct virtio_dev *d, unsigned int q, unsigned int *n)
{
	if (d->queues_on_every_loop) {
		*n = d->nr_loops;
		return d->loops;
	}
	*n = 1;
	return virtio_queue_loop(d, q);
}

bool virtio_notify_queue(struct virtio_dev *d, unsigned int q)
{
	if (q >= d->nr_queues || !virtq_should_signal(&d->vqs[q]))
		return false;
	d->transport->ops->notify_queue(d, q);
	return true;
}

void virtio_notify_config(struct virtio_dev *d)
{
	d->transport->ops->notify_config(d);
}

void virtio_kick_queue(struct virtio_dev *d, unsigned int q)
{
	d->transport->ops->kick(d, q);
}

void virtio_dev_pause(struct virtio_dev *d)
{
	d->transport->ops->pause(d);
	if (d->ops->pause)
		d->ops->pause(d);
}

void virtio_dev_resume(struct virtio_dev *d)
{
	if (d->ops->resume)
		d->ops->resume(d);
	d->transport->ops->resume(d);
}

void virtio_set_broken(struct virtio_dev *d, const char *why)
{
	if (__atomic_exchange_n(&d->broken, true, __ATOMIC_ACQ_REL))
		return;
	__atomic_add_fetch(&d->stats.errors, 1, __ATOMIC_RELAXED);
	log_guest(&d->rl, "%s: %s; device needs reset", d->name, why);
	__atomic_or_fetch(&d->status, VIRTIO_STATUS_NEEDS_RESET, __ATOMIC_ACQ_REL);
	d->transport->ops->notify_config(d);
}
