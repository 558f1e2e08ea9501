#define LOG_TAG "net"
/* Choosing and opening a backend for a --net option. */
#include <errno.h>

#include "net/backend.h"
#include "virtio/net_proto.h"
#include "vmm/config.h"
#include "vmm/log.h"

/* More queue pairs than this cost guest memory and threads for little. */
#define NET_DEFAULT_MAX_QUEUES 16

int net_backend_open(const struct net_config *nc, unsigned int default_queues,
		     struct net_backend **out)
{
	unsigned int queues = nc->queues ? nc->queues : default_queues;

	if (nc->fd >= 0) {
		if (nc->queues > 1) {
			log_error("--net fd=%d: a passed TAP descriptor is one queue; queues=%u needs tap=NAME",
				  nc->fd, nc->queues);
			return -EINVAL;
		}
		return tap_open_fd(nc->fd, VIRTIO_NET_HDR_LEN, out);
	}
	if (!nc->queues && queues > NET_DEFAULT_MAX_QUEUES)
		queues = NET_DEFAULT_MAX_QUEUES;
	if (queues == 0)
		queues = 1;
	if (queues > NET_MAX_QUEUES)
		queues = NET_MAX_QUEUES;
	return tap_open(nc->tap, queues, VIRTIO_NET_HDR_LEN, out);
}

void net_backend_close(struct net_backend *b)
{
	if (b)
		b->ops->destroy(b);
}
