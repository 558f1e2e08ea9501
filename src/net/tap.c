#define LOG_TAG "tap"
/* The TAP backend: a Linux TAP interface with IFF_VNET_HDR, one file
 * descriptor per queue (IFF_MULTI_QUEUE when there are several).  The
 * kernel reads and writes the virtio-net header itself, so frames cross
 * between guest memory and the TAP in one copy, large segments included
 * once TUNSETOFFLOAD says the guest accepts them. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/backend.h"
#include "vmm/log.h"

/* Newer than some uapi headers (Linux 6.2). */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

static ssize_t tap_recv(struct net_backend *b, unsigned int q, const struct iovec *iov, int n)
{
	ssize_t r;

	do {
		r = readv(b->fds[q], iov, n);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

static ssize_t tap_send(struct net_backend *b, unsigned int q, const struct iovec *iov, int n)
{
	ssize_t r;

	do {
		r = writev(b->fds[q], iov, n);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

static unsigned int tun_flags(unsigned int offloads)
{
	unsigned int f = 0;

	if (!(offloads & NET_OFFLOAD_CSUM))
		return 0; /* every segmentation offload needs checksum offload */
	f |= TUN_F_CSUM;
	if (offloads & NET_OFFLOAD_TSO4)
		f |= TUN_F_TSO4;
	if (offloads & NET_OFFLOAD_TSO6)
		f |= TUN_F_TSO6;
	if ((offloads & NET_OFFLOAD_ECN) && (f & (TUN_F_TSO4 | TUN_F_TSO6)))
		f |= TUN_F_TSO_ECN;
	if (offloads & NET_OFFLOAD_UFO)
		f |= TUN_F_UFO;
	/* The kernel takes USO for both IP versions or none. */
	if ((offloads & NET_OFFLOAD_USO4) && (offloads & NET_OFFLOAD_USO6))
		f |= TUN_F_USO4 | TUN_F_USO6;
	return f;
}

static int tap_set_offloads(struct net_backend *b, unsigned int offloads)
{
	if (ioctl(b->fds[0], TUNSETOFFLOAD, (unsigned long)tun_flags(offloads & b->caps)) < 0)
		return -errno;
	return 0;
}

static int tap_enable_queue(struct net_backend *b, unsigned int q, bool on)
{
	struct ifreq ifr = { .ifr_flags = on ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE };

	/* The kernel refuses to attach an attached queue (or detach a
	 * detached one), and a reboot's new device does not know the old
	 * device's choices: remember them here. */
	if (!b->multi_queue || q >= b->nr_queues || b->detached[q] == !on)
		return 0;
	if (ioctl(b->fds[q], TUNSETQUEUE, &ifr) < 0)
		return -errno;
	b->detached[q] = !on;
	return 0;
}

static void tap_destroy(struct net_backend *b)
{
	for (unsigned int q = 0; b->owns_fds && q < b->nr_queues; q++)
		if (b->fds[q] >= 0)
			close(b->fds[q]);
	free(b);
}

static const struct net_backend_ops tap_ops = {
	.recv = tap_recv,
	.send = tap_send,
	.set_offloads = tap_set_offloads,
	.enable_queue = tap_enable_queue,
	.destroy = tap_destroy,
};

static bool offload_ok(int fd, unsigned int flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags) == 0;
}

/* What this kernel's TUN driver accepts: it refuses flags it does not know,
 * which is the documented way to probe. */
static unsigned int probe_offloads(int fd)
{
	unsigned int caps = 0;

	if (!offload_ok(fd, TUN_F_CSUM))
		return 0;
	caps |= NET_OFFLOAD_CSUM;
	if (offload_ok(fd, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)) {
		caps |= NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6;
		if (offload_ok(fd, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN))
			caps |= NET_OFFLOAD_ECN;
	}
	if (offload_ok(fd, TUN_F_CSUM | TUN_F_UFO))
		caps |= NET_OFFLOAD_UFO;
	if (offload_ok(fd, TUN_F_CSUM | TUN_F_USO4 | TUN_F_USO6))
		caps |= NET_OFFLOAD_USO4 | NET_OFFLOAD_USO6;
	offload_ok(fd, 0);
	return caps;
}

static unsigned int host_mtu(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = -1;

	if (s >= 0) {
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		ret = ioctl(s, SIOCGIFMTU, &ifr);
		close(s);
	}
	if (ret < 0 || ifr.ifr_mtu < 68) {
		log_debug("%s: MTU unknown, assuming 1500", ifname);
		return 1500;
	}
	return (unsigned int)ifr.ifr_mtu;
}

/* Header size, byte order, offload probe and MTU: the same for a TAP we
 * opened and one we were given. */
static int setup_common(struct net_backend *b, unsigned int hdr_len)
{
	int sz = (int)hdr_len, le = 1;

	if (ioctl(b->fds[0], TUNSETVNETHDRSZ, &sz) < 0) {
		int err = -errno;

		log_error("%s: TUNSETVNETHDRSZ %d: %s", b->ifname, sz, strerror(errno));
		return err;
	}
	/* virtio 1.x headers are little-endian; the default is the host's
	 * order, which is the same on x86, so a kernel without this is fine. */
	if (ioctl(b->fds[0], TUNSETVNETLE, &le) < 0)
		log_debug("%s: TUNSETVNETLE: %s", b->ifname, strerror(errno));
	b->hdr_len = hdr_len;
	b->caps = probe_offloads(b->fds[0]);
	b->mtu = host_mtu(b->ifname);
	return 0;
}

static struct net_backend *backend_alloc(void)
{
	struct net_backend *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->ops = &tap_ops;
	b->owns_fds = true;
	for (unsigned int q = 0; q < NET_MAX_QUEUES; q++)
		b->fds[q] = -1;
	return b;
}

int tap_open(const char *name, unsigned int queues, unsigned int hdr_len,
	     struct net_backend **out)
{
	struct net_backend *b;
	int ret;

	if (queues == 0 || queues > NET_MAX_QUEUES || strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	b = backend_alloc();
	if (!b)
		return -ENOMEM;
	snprintf(b->ifname, sizeof(b->ifname), "%s", name);
	b->multi_queue = queues > 1;
	for (unsigned int q = 0; q < queues; q++) {
		struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };

		if (b->multi_queue)
			ifr.ifr_flags |= IFF_MULTI_QUEUE;
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", b->ifname);
		b->fds[q] = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
		if (b->fds[q] < 0) {
			ret = -errno;
			log_error("tap %s: cannot open /dev/net/tun: %s", name, strerror(errno));
			goto err;
		}
		b->nr_queues = q + 1;
		if (ioctl(b->fds[q], TUNSETIFF, &ifr) < 0) {
			ret = -errno;
			log_error("tap %s: TUNSETIFF: %s (an existing TAP must be free, have vnet_hdr, and multi_queue for queues > 1)",
				  name, strerror(errno));
			goto err;
		}
		/* The kernel may have completed a pattern like "tap%d". */
		snprintf(b->ifname, sizeof(b->ifname), "%s", ifr.ifr_name);
	}
	ret = setup_common(b, hdr_len);
	if (ret)
		goto err;
	*out = b;
	return 0;
err:
	tap_destroy(b);
	return ret;
}

int tap_open_fd(int fd, unsigned int hdr_len, struct net_backend **out)
{
	struct net_backend *b;
	struct ifreq ifr = { 0 };
	int flags, ret;

	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || ioctl(fd, TUNGETIFF, &ifr) < 0) {
		log_error("--net fd=%d: not an open TAP descriptor", fd);
		return -EBADF;
	}
	if ((ifr.ifr_flags & (IFF_TAP | IFF_TUN)) != IFF_TAP || !(ifr.ifr_flags & IFF_NO_PI) ||
	    !(ifr.ifr_flags & IFF_VNET_HDR)) {
		log_error("--net fd=%d: %s must be a TAP opened with IFF_NO_PI and IFF_VNET_HDR", fd,
			  ifr.ifr_name);
		return -EINVAL;
	}
	if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		ret = -errno;
		log_error("--net fd=%d: %s", fd, strerror(errno));
		return ret;
	}
	b = backend_alloc();
	if (!b)
		return -ENOMEM;
	snprintf(b->ifname, sizeof(b->ifname), "%s", ifr.ifr_name);
	b->fds[0] = fd;
	b->nr_queues = 1;
	b->owns_fds = false; /* the process got it from its parent: keep it */
	ret = setup_common(b, hdr_len);
	if (ret) {
		tap_destroy(b);
		return ret;
	}
	*out = b;
	return 0;
}
