#define LOG_TAG "virtio-console"
/* virtio-console: one port (hvc0) on sardine's stdio console, as an
 * alternative to the UART.  Output is written out as the guest queues it;
 * input from the console goes through a small buffer to the receive queue
 * on the device's I/O thread, with back-pressure to the console when the
 * guest posts no buffers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio/devices.h"
#include "virtio/virtio.h"
#include "vmm/console.h"
#include "vmm/vm.h"

#define CONSOLE_QUEUE_SIZE 128
#define RXQ 0
#define TXQ 1
#define RX_BUF 4096

struct virtio_console {
	struct virtio_dev dev;
	struct console *console;
	struct virtq_elem elem;
	pthread_mutex_t lock; /* rx buffer, shared with the console thread */
	uint8_t rx[RX_BUF];
	size_t rx_len;
	bool rx_starved; /* refused input: kick the console when space frees */
	bool active;
	int input_fd; /* eventfd: input arrived for the receive queue */
};

/* Moves buffered input into the guest's receive buffers (I/O thread).
 * Everything that touches the ring or the device status (the interrupt,
 * NEEDS_RESET) happens under c->lock while the device is active: input
 * arrives through on_input, which a reset does not wait for the way it
 * waits for kick handlers, and once vcon_reset has taken the lock the
 * transport clears the rings and the status. */
static void deliver_input(struct virtio_console *c)
{
	struct virtio_dev *d = &c->dev;
	struct virtqueue *vq = &d->vqs[RXQ];
	bool delivered = false, kick = false;
	int got = 0;

	pthread_mutex_lock(&c->lock);
	while (c->active && c->rx_len && (got = virtq_pop(vq, &c->elem)) > 0) {
		size_t n = iov_from_buf(c->elem.iov + c->elem.out_num, c->elem.in_num, 0, c->rx,
					c->rx_len);

		memmove(c->rx, c->rx + n, c->rx_len - n);
		c->rx_len -= n;
		d->stats.requests++;
		d->stats.write_bytes += n;
		virtq_push(vq, c->elem.head, (uint32_t)n);
		delivered = true;
	}
	if (got < 0)
		virtio_set_broken(d, "malformed receive queue");
	else if (delivered)
		virtio_notify_queue(d, RXQ);
	if (c->rx_starved && c->rx_len < RX_BUF) {
		c->rx_starved = false;
		kick = true;
	}
	pthread_mutex_unlock(&c->lock);
	if (kick)
		console_kick(c->console);
}

static void transmit(struct virtio_console *c)
{
	struct virtio_dev *d = &c->dev;
	struct virtqueue *vq = &d->vqs[TXQ];
	bool more;

	do {
		int got;

		virtq_disable_notify(vq);
		while ((got = virtq_pop(vq, &c->elem)) > 0) {
			for (unsigned int i = 0; i < c->elem.out_num; i++)
				console_write(c->console, c->elem.iov[i].iov_base, c->elem.iov[i].iov_len);
			d->stats.requests++;
			d->stats.read_bytes += c->elem.out_len;
			virtq_push(vq, c->elem.head, 0);
		}
		if (got < 0) {
			virtio_set_broken(d, "malformed transmit queue");
			return;
		}
		virtio_notify_queue(d, TXQ);
		more = virtq_enable_notify(vq);
	} while (more);
}

static void vcon_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct virtio_console *c = (struct virtio_console *)d;

	if (q == TXQ)
		transmit(c);
	else
		deliver_input(c); /* the guest posted receive buffers */
}

static void on_input(void *opaque, uint32_t events)
{
	struct virtio_console *c = opaque;
	uint64_t v;

	if (read(c->input_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	if (!__atomic_load_n(&c->dev.broken, __ATOMIC_ACQUIRE))
		deliver_input(c);
}

/* Console sink: any thread; takes what fits in the buffer. */
static size_t vcon_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct virtio_console *c = opaque;
	uint64_t one = 1;
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = RX_BUF - c->rx_len < len ? RX_BUF - c->rx_len : len;
	memcpy(c->rx + c->rx_len, buf, n);
	c->rx_len += n;
	c->rx_starved = n < len;
	pthread_mutex_unlock(&c->lock);
	if (n && write(c->input_fd, &one, sizeof(one)) < 0)
		log_debug("input eventfd: %s", strerror(errno));
	return n;
}

static int vcon_activate(struct virtio_dev *d)
{
	struct virtio_console *c = (struct virtio_console *)d;

	pthread_mutex_lock(&c->lock);
	c->active = true;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void vcon_reset(struct virtio_dev *d)
{
	struct virtio_console *c = (struct virtio_console *)d;

	/* Pending input stays buffered for the next driver. */
	pthread_mutex_lock(&c->lock);
	c->active = false;
	pthread_mutex_unlock(&c->lock);
}

static void vcon_destroy(struct virtio_dev *d)
{
	struct virtio_console *c = (struct virtio_console *)d;

	console_set_sink(c->console, NULL);
	event_loop_del(virtio_queue_loop(d, RXQ), c->input_fd);
	virtio_dev_cleanup(d);
	close(c->input_fd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* vm.pause: input stops reaching guest memory (it stays buffered, and
 * the console stops reading once the buffer is full); the transport has
 * stopped the queues.  On resume, one look catches up with what came. */
static void vcon_pause(struct virtio_dev *d)
{
	struct virtio_console *c = (struct virtio_console *)d;

	event_loop_del(virtio_queue_loop(d, RXQ), c->input_fd); /* waits for on_input */
}

static void vcon_resume(struct virtio_dev *d)
{
	struct virtio_console *c = (struct virtio_console *)d;
	uint64_t one = 1;

	if (event_loop_add(virtio_queue_loop(d, RXQ), c->input_fd, EPOLLIN, on_input, c) == 0 &&
	    write(c->input_fd, &one, sizeof(one)) < 0)
		log_debug("input eventfd: %s", strerror(errno));
}

static const struct virtio_dev_ops console_ops = {
	.activate = vcon_activate,
	.reset = vcon_reset,
	.pause = vcon_pause,
	.resume = vcon_resume,
	.queue_notify = vcon_queue_notify,
	.destroy = vcon_destroy,
};

int virtio_console_create(struct vm *vm, struct console *console, struct virtio_dev **out)
{
	struct virtio_console *c = calloc(1, sizeof(*c));
	struct console_sink sink;
	int ret;

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->console = console;
	c->input_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->input_fd < 0) {
		ret = -errno;
		goto err;
	}
	/* One I/O thread: input delivery and both queues stay on it. */
	ret = virtio_dev_init(&c->dev, vm, "virtio-console", VIRTIO_ID_CONSOLE, 2,
			      CONSOLE_QUEUE_SIZE, 1);
	if (ret)
		goto err_fd;
	c->dev.ops = &console_ops;
	ret = event_loop_add(virtio_queue_loop(&c->dev, RXQ), c->input_fd, EPOLLIN, on_input, c);
	if (ret) {
		virtio_dev_cleanup(&c->dev);
		goto err_fd;
	}
	sink = (struct console_sink){ .receive = vcon_receive, .opaque = c };
	console_set_sink(console, &sink);
	*out = &c->dev;
	return 0;
err_fd:
	close(c->input_fd);
err:
	pthread_mutex_destroy(&c->lock);
	free(c);
	return ret;
}
