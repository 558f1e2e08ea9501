/* What virtio core needs from a transport (only PCI today). */
#ifndef SARDINE_VIRTIO_TRANSPORT_H
#define SARDINE_VIRTIO_TRANSPORT_H

struct virtio_dev;

struct virtio_transport_ops {
	void (*notify_queue)(struct virtio_dev *d, unsigned int q);
	/* Deliver a kick of queue q to the device as if the driver made it. */
	void (*kick)(struct virtio_dev *d, unsigned int q);
	void (*notify_config)(struct virtio_dev *d);
	void (*destroy)(struct virtio_dev *d);
	/* Stop / restart delivering queue kicks to the device (vm.pause). */
	void (*pause)(struct virtio_dev *d);
	void (*resume)(struct virtio_dev *d);
};

struct virtio_transport {
	const struct virtio_transport_ops *ops;
};

int virtio_pci_attach(struct virtio_dev *d);

#endif
