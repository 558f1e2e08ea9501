/* The configuration of one VM, as given by the command line or a VmConfig
 * JSON document.  Plain data: it is copied, serialised and fed back. */
#ifndef SARDINE_CONFIG_H
#define SARDINE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VM_MAX_CPUS 254 /* xAPIC IDs 0..254, 255 is broadcast */
#define VM_MIN_MEM (32ULL << 20)
#define VM_MAX_MEM (1ULL << 40)
#define VM_NAME_MAX 64
#define VM_MAX_DISKS 16
#define VM_MAX_NETS 8
#define VM_MAX_SHARES 8
#define DISK_SERIAL_MAX 20 /* virtio-blk GET_ID returns 20 bytes */
#define SHARE_TAG_MAX 64

enum console_mode {
	CONSOLE_SERIAL, /* COM1 on stdio */
	CONSOLE_VIRTIO, /* hvc0 (virtio-console) on stdio */
	CONSOLE_SOCKET, /* COM1 on a Unix socket (sardine console NAME) */
	CONSOLE_NONE,
};

enum disk_cache { DISK_CACHE_WRITEBACK, DISK_CACHE_NONE };

/* --disk PATH[,ro][,cache=none|writeback][,serial=ID][,queues=N] */
struct disk_config {
	char *path;
	bool readonly;
	enum disk_cache cache;
	char serial[DISK_SERIAL_MAX + 1];
	unsigned int queues; /* 0: one per vCPU */
	bool format_raw;     /* format=raw: raw even if it looks like qcow2 & co. */
};

/* Ring sizes a virtio-net queue may have (powers of two, as QEMU's
 * rx_queue_size/tx_queue_size), and the defaults.  A receive ring of 1024
 * lets the device deliver ~16 large (64 KiB) frames more per guest refill
 * than 256 does; what it costs is the guest's posted buffers (1.5-4 KiB
 * each, in guest RAM). */
#define NET_RING_MIN 256
#define NET_RING_MAX 1024
#define NET_RX_RING_DEFAULT 1024
#define NET_TX_RING_DEFAULT 256

/* --net tap=NAME[,mac=MAC][,queues=N][,rx_queue_size=N][,tx_queue_size=N]
 *     | fd=N[,mac=MAC][,...] */
struct net_config {
	char *tap;       /* interface name, or NULL with fd */
	int fd;          /* an open TAP descriptor, -1 if none */
	uint8_t mac[6];
	bool mac_set;    /* else derived from the VM name */
	unsigned int queues; /* queue pairs; 0: one per vCPU */
	unsigned int rx_ring, tx_ring; /* entries per queue; 0: the default */
};

enum share_security { SHARE_PASSTHROUGH, SHARE_MAPPED };

/* --share HOSTDIR:TAG[,ro][,security=passthrough|mapped] */
struct share_config {
	char *path;
	char tag[SHARE_TAG_MAX + 1];
	bool readonly;
	enum share_security security;
};

/* --balloon on|auto[,size=SIZE][,deflate_on_oom=on|off][,free_page_reporting=on|off]
 *           [,margin=SIZE][,step=PCT][,pressure=PCT] */
struct balloon_config {
	bool enabled;
	uint64_t size;          /* initial balloon size in bytes */
	bool deflate_on_oom;
	bool free_page_reporting;
	bool auto_size;         /* sardine sizes it from host pressure */
	uint64_t auto_margin;   /* auto: memory a guest always keeps free (0: default) */
	unsigned int auto_step_pct;     /* auto: share of the spare per step (0: default) */
	unsigned int auto_pressure_pct; /* auto: PSI avg10 that means pressure (0: default) */
};

struct vm_config {
	char name[VM_NAME_MAX + 1];
	char *kernel;
	char *initrd;
	char *cmdline;
	uint64_t mem_size;
	unsigned int nr_cpus;
	bool no_reboot;
	bool no_merge; /* do not mark guest RAM mergeable for KSM */
	bool no_rng;   /* no virtio-rng device */
	enum console_mode console;
	char *api_socket; /* NULL: the default path for the name */
	struct disk_config disks[VM_MAX_DISKS];
	unsigned int nr_disks;
	struct net_config nets[VM_MAX_NETS];
	unsigned int nr_nets;
	struct share_config shares[VM_MAX_SHARES];
	unsigned int nr_shares;
	struct balloon_config balloon;
};

void config_init_defaults(struct vm_config *cfg);
void config_free(struct vm_config *cfg);
/* Deep copy (every string duplicated); -ENOMEM. */
int config_copy(struct vm_config *dst, const struct vm_config *src);

/* "256M", "4G", "65536K", "1T"; a bare number is taken in default_unit
 * bytes.  Returns -EINVAL on junk, -ERANGE on overflow. */
int parse_size(const char *s, uint64_t default_unit, uint64_t *out);
/* Decimal unsigned integer in [min, max]. */
int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);
int parse_mac(const char *s, uint8_t mac[6]);

/* Device option strings from the command line.  On error they return
 * -EINVAL and write a one-line reason into err. */
int config_add_disk(struct vm_config *cfg, const char *spec, char *err, size_t errlen);
int config_add_net(struct vm_config *cfg, const char *spec, char *err, size_t errlen);
int config_add_share(struct vm_config *cfg, const char *spec, char *err, size_t errlen);
int config_set_balloon(struct vm_config *cfg, const char *spec, char *err, size_t errlen);
int config_set_console(struct vm_config *cfg, const char *spec, char *err, size_t errlen);
/* Checks across options, once all are parsed. */
int config_validate(const struct vm_config *cfg, char *err, size_t errlen);
/* Names: 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool config_valid_name(const char *name);

#endif
