#define LOG_TAG "virtio-rng"
/* virtio-rng: entropy for the guest's /dev/hwrng, from getrandom(2).
 * The smallest device: one queue, no configuration space.  Copy this file
 * to start a new device. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "virtio/devices.h"
#include "virtio/virtio.h"

#define RNG_QUEUE_SIZE 256
#define RNG_MAX_REQUEST (64 * 1024) /* bytes filled per request at most */

struct virtio_rng {
	struct virtio_dev dev;
	struct virtq_elem elem;
};

static int fill(const struct virtq_elem *e, uint32_t *written)
{
	uint8_t buf[4096];
	uint64_t want = e->in_len < RNG_MAX_REQUEST ? e->in_len : RNG_MAX_REQUEST;
	uint64_t done = 0;

	while (done < want) {
		size_t chunk = want - done < sizeof(buf) ? (size_t)(want - done) : sizeof(buf);
		ssize_t n = getrandom(buf, chunk, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		iov_from_buf(e->iov + e->out_num, e->in_num, done, buf, (size_t)n);
		done += (uint64_t)n;
	}
	*written = (uint32_t)done;
	return 0;
}

static void rng_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct virtio_rng *rng = (struct virtio_rng *)d;
	struct virtqueue *vq = &d->vqs[q];
	bool more;

	do {
		int got;

		virtq_disable_notify(vq);
		while ((got = virtq_pop(vq, &rng->elem)) > 0) {
			uint32_t written = 0;

			if (fill(&rng->elem, &written))
				d->stats.errors++;
			d->stats.requests++;
			d->stats.read_bytes += written;
			virtq_push(vq, rng->elem.head, written);
		}
		if (got < 0) {
			virtio_set_broken(d, "malformed request queue");
			return;
		}
		virtio_notify_queue(d, q);
		more = virtq_enable_notify(vq);
	} while (more);
}

static int rng_activate(struct virtio_dev *d)
{
	return 0;
}

static void rng_reset(struct virtio_dev *d)
{
}

static void rng_destroy(struct virtio_dev *d)
{
	virtio_dev_cleanup(d);
	free(d);
}

static const struct virtio_dev_ops rng_ops = {
	.activate = rng_activate,
	.reset = rng_reset,
	.queue_notify = rng_queue_notify,
	.destroy = rng_destroy,
};

int virtio_rng_create(struct vm *vm, struct virtio_dev **out)
{
	struct virtio_rng *rng = calloc(1, sizeof(*rng));
	int ret;

	if (!rng)
		return -ENOMEM;
	ret = virtio_dev_init(&rng->dev, vm, "virtio-rng", VIRTIO_ID_RNG, 1, RNG_QUEUE_SIZE, 1);
	if (ret) {
		free(rng);
		return ret;
	}
	rng->dev.ops = &rng_ops;
	*out = &rng->dev;
	return 0;
}
