/* VmConfig's device sections -> struct vm_config: disks, net, rng, balloon,
 * shares (sardine's 9p) and the serial/console pair.  The walker and the
 * conventions are vmconfig.c's (see vmconfig_parse.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api/vmconfig_parse.h"

static const char *const mode_names[] = { "Off", "Pty", "Tty", "File", "Socket", "Null" };

/* ---- disks */

static int disk_path(struct jctx *c, struct json_object *v, void *obj)
{
	return vc_get_string(c, v, MAX_PATH_LEN, &((struct disk_config *)obj)->path);
}

static int disk_readonly(struct jctx *c, struct json_object *v, void *obj)
{
	return vc_get_bool(c, v, &((struct disk_config *)obj)->readonly);
}

static int disk_direct(struct jctx *c, struct json_object *v, void *obj)
{
	bool direct = false;
	int ret = vc_get_bool(c, v, &direct);

	((struct disk_config *)obj)->cache = direct ? DISK_CACHE_NONE : DISK_CACHE_WRITEBACK;
	return ret;
}

static int disk_queues(struct jctx *c, struct json_object *v, void *obj)
{
	uint64_t n;
	int ret = vc_get_uint(c, v, 1, MAX_QUEUES, &n);

	((struct disk_config *)obj)->queues = (unsigned int)n;
	return ret;
}

static int disk_serial(struct jctx *c, struct json_object *v, void *obj)
{
	return vc_get_string_buf(c, v, ((struct disk_config *)obj)->serial, DISK_SERIAL_MAX);
}

/* cloud-hypervisor's explicit image type: "Raw" says the image is raw
 * whatever its first bytes look like (--disk ...,format=raw). */
static int disk_image_type(struct jctx *c, struct json_object *v, void *obj)
{
	if (!json_object_is_type(v, json_type_string) || strcmp(json_object_get_string(v), "Raw") != 0)
		return vc_fail(c, "not supported by sardine (only \"Raw\"): sardine runs raw images");
	((struct disk_config *)obj)->format_raw = true;
	return 0;
}

static const struct field disk_fields[] = {
	{ "path", disk_path, NULL, NULL },
	{ "readonly", disk_readonly, NULL, NULL },
	{ "direct", disk_direct, NULL, NULL },
	{ "num_queues", disk_queues, NULL, NULL },
	{ "serial", disk_serial, NULL, NULL },
	{ "iommu", NULL, "false", NULL },
	{ "queue_size", NULL, "128", "sardine sizes its queues itself" },
	{ "vhost_user", NULL, "false", NULL },
	{ "vhost_socket", NULL, NULL, NULL },
	{ "rate_limiter_config", NULL, NULL, NULL },
	{ "pci_segment", NULL, "0", NULL },
	{ "pci_device_id", NULL, NULL, NULL },
	{ "id", NULL, NULL, "sardine names its devices itself" },
	{ "rate_limit_group", NULL, NULL, NULL },
	{ "queue_affinity", NULL, "[]", NULL },
	{ "backing_files", NULL, "false", NULL },
	{ "sparse", NULL, "true", NULL },
	{ "image_type", disk_image_type, NULL, NULL },
	{ "lock_granularity", NULL, "\"ByteRange\"", NULL },
	{ NULL, NULL, NULL, NULL },
};

static int parse_disk(struct jctx *c, struct json_object *v, size_t i)
{
	struct disk_config *d = &c->cfg->disks[c->cfg->nr_disks++];
	int ret;

	/* The OpenAPI default is one queue (sardine's command line: one per vCPU). */
	*d = (struct disk_config){ .cache = DISK_CACHE_WRITEBACK, .queues = 1 };
	ret = vc_walk(c, v, disk_fields, d);
	return ret ? ret : vc_require(c, d->path != NULL, "path");
}

int vc_parse_disks(struct jctx *c, struct json_object *v, void *obj)
{
	return vc_walk_array(c, v, VM_MAX_DISKS, parse_disk);
}

/* ---- net */

static int net_tap(struct jctx *c, struct json_object *v, void *obj)
{
	return vc_get_string(c, v, 15, &((struct net_config *)obj)->tap);
}

static int net_fd(struct jctx *c, struct json_object *v, void *obj)
{
	uint64_t fd;
	int ret = vc_get_uint(c, v, 0, 1 << 20, &fd);

	((struct net_config *)obj)->fd = (int)fd;
	return ret;
}

static int net_mac(struct jctx *c, struct json_object *v, void *obj)
{
	struct net_config *n = obj;
	char mac[18];
	int ret = vc_get_string_buf(c, v, mac, 17);

	if (!ret && parse_mac(mac, n->mac))
		ret = vc_fail(c, "'%s' is not a unicast MAC address", mac);
	n->mac_set = !ret;
	return ret;
}

/* cloud-hypervisor counts queues, sardine queue pairs. */
static int net_queues(struct jctx *c, struct json_object *v, void *obj)
{
	uint64_t n;
	int ret = vc_get_uint(c, v, 2, 2 * MAX_QUEUES, &n);

	if (!ret && n % 2)
		ret = vc_fail(c, "must be even (one receive and one transmit queue per pair)");
	((struct net_config *)obj)->queues = (unsigned int)(n / 2);
	return ret;
}

static int ring_size(struct jctx *c, struct json_object *v, unsigned int *out)
{
	uint64_t n;
	int ret = vc_get_uint(c, v, NET_RING_MIN, NET_RING_MAX, &n);

	if (!ret && (n & (n - 1)))
		ret = vc_fail(c, "must be a power of two");
	*out = (unsigned int)n;
	return ret;
}

/* cloud-hypervisor: one size for every queue of the device. */
static int net_queue_size(struct jctx *c, struct json_object *v, void *obj)
{
	struct net_config *n = obj;
	int ret = ring_size(c, v, &n->rx_ring);

	n->tx_ring = n->rx_ring;
	return ret;
}

/* sardine's own, as QEMU's rx_queue_size/tx_queue_size. */
static int net_rx_queue_size(struct jctx *c, struct json_object *v, void *obj)
{
	return ring_size(c, v, &((struct net_config *)obj)->rx_ring);
}

static int net_tx_queue_size(struct jctx *c, struct json_object *v, void *obj)
{
	return ring_size(c, v, &((struct net_config *)obj)->tx_ring);
}

static const struct field net_fields[] = {
	{ "tap", net_tap, NULL, NULL },
	{ "fd", net_fd, NULL, NULL }, /* sardine: an inherited TAP descriptor */
	{ "mac", net_mac, NULL, NULL },
	{ "num_queues", net_queues, NULL, NULL },
	{ "ip", NULL, "\"192.168.249.1\"", "configure the TAP interface on the host" },
	{ "mask", NULL, "\"255.255.255.0\"", "configure the TAP interface on the host" },
	{ "host_mac", NULL, NULL, NULL },
	{ "mtu", NULL, NULL, NULL },
	{ "iommu", NULL, "false", NULL },
	{ "queue_size", net_queue_size, NULL, NULL },
	{ "rx_queue_size", net_rx_queue_size, NULL, NULL },
	{ "tx_queue_size", net_tx_queue_size, NULL, NULL },
	{ "vhost_user", NULL, "false", NULL },
	{ "vhost_socket", NULL, NULL, NULL },
	{ "vhost_mode", NULL, "\"Client\"", NULL },
	{ "id", NULL, NULL, "sardine names its devices itself" },
	{ "pci_segment", NULL, "0", NULL },
	{ "pci_device_id", NULL, NULL, NULL },
	{ "rate_limiter_config", NULL, NULL, NULL },
	{ "offload_tso", NULL, "true", NULL },
	{ "offload_ufo", NULL, "true", NULL },
	{ "offload_csum", NULL, "true", NULL },
	{ NULL, NULL, NULL, NULL },
};

static int parse_net(struct jctx *c, struct json_object *v, size_t i)
{
	struct net_config *n = &c->cfg->nets[c->cfg->nr_nets++];
	int ret;

	*n = (struct net_config){ .fd = -1, .queues = 1 };
	ret = vc_walk(c, v, net_fields, n);
	if (!ret && !n->tap == (n->fd < 0))
		ret = vc_fail(c, "give exactly one of 'tap' (an existing TAP interface) and 'fd'");
	return ret;
}

int vc_parse_nets(struct jctx *c, struct json_object *v, void *obj)
{
	return vc_walk_array(c, v, VM_MAX_NETS, parse_net);
}

/* ---- rng, balloon, shares */

static const struct field rng_fields[] = {
	{ "src", NULL, "\"/dev/urandom\"", "sardine's entropy comes from getrandom(2)" },
	{ "id", NULL, NULL, NULL },
	{ "iommu", NULL, "false", NULL },
	{ "pci_segment", NULL, "0", NULL },
	{ "pci_device_id", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL },
};

/* sardine: "rng": null leaves the entropy device out. */
int vc_parse_rng(struct jctx *c, struct json_object *v, void *obj)
{
	c->cfg->no_rng = v == NULL;
	return v ? vc_walk(c, v, rng_fields, obj) : 0;
}

static int balloon_size(struct jctx *c, struct json_object *v, void *obj)
{
	return vc_get_uint(c, v, 0, VM_MAX_MEM, &((struct balloon_config *)obj)->size);
}

static int balloon_deflate(struct jctx *c, struct json_object *v, void *obj)
{
	return vc_get_bool(c, v, &((struct balloon_config *)obj)->deflate_on_oom);
}

static int balloon_reporting(struct jctx *c, struct json_object *v, void *obj)
{
	return vc_get_bool(c, v, &((struct balloon_config *)obj)->free_page_reporting);
}

static int balloon_auto(struct jctx *c, struct json_object *v, void *obj)
{
	return vc_get_bool(c, v, &((struct balloon_config *)obj)->auto_size);
}

static int balloon_margin(struct jctx *c, struct json_object *v, void *obj)
{
	return vc_get_uint(c, v, 0, VM_MAX_MEM, &((struct balloon_config *)obj)->auto_margin);
}

static int get_pct(struct jctx *c, struct json_object *v, unsigned int *out)
{
	uint64_t n;
	int ret = vc_get_uint(c, v, 1, 100, &n);

	*out = (unsigned int)n;
	return ret;
}

static int balloon_step(struct jctx *c, struct json_object *v, void *obj)
{
	return get_pct(c, v, &((struct balloon_config *)obj)->auto_step_pct);
}

static int balloon_pressure(struct jctx *c, struct json_object *v, void *obj)
{
	return get_pct(c, v, &((struct balloon_config *)obj)->auto_pressure_pct);
}

static const struct field balloon_fields[] = {
	{ "size", balloon_size, NULL, NULL },
	{ "deflate_on_oom", balloon_deflate, NULL, NULL },
	{ "free_page_reporting", balloon_reporting, NULL, NULL },
	/* sardine: sized from host memory pressure (--balloon auto,...) */
	{ "auto", balloon_auto, NULL, NULL },
	{ "auto_margin", balloon_margin, NULL, NULL },
	{ "auto_step_pct", balloon_step, NULL, NULL },
	{ "auto_pressure_pct", balloon_pressure, NULL, NULL },
	{ "id", NULL, NULL, NULL },
	{ "iommu", NULL, "false", NULL },
	{ "pci_segment", NULL, "0", NULL },
	{ "pci_device_id", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL },
};

int vc_parse_balloon(struct jctx *c, struct json_object *v, void *obj)
{
	struct balloon_config *b = &c->cfg->balloon;
	int ret;

	memset(b, 0, sizeof(*b));
	if (!v)
		return 0;
	b->size = UINT64_MAX; /* not given yet */
	ret = vc_walk(c, v, balloon_fields, b);
	if (!ret)
		ret = vc_require(c, b->size != UINT64_MAX, "size");
	b->enabled = !ret;
	return ret;
}

static int share_path(struct jctx *c, struct json_object *v, void *obj)
{
	return vc_get_string(c, v, MAX_PATH_LEN, &((struct share_config *)obj)->path);
}

static int share_tag(struct jctx *c, struct json_object *v, void *obj)
{
	return vc_get_string_buf(c, v, ((struct share_config *)obj)->tag, SHARE_TAG_MAX);
}

static int share_readonly(struct jctx *c, struct json_object *v, void *obj)
{
	return vc_get_bool(c, v, &((struct share_config *)obj)->readonly);
}

static int share_security(struct jctx *c, struct json_object *v, void *obj)
{
	struct share_config *s = obj;
	char mode[16];
	int ret = vc_get_string_buf(c, v, mode, sizeof(mode) - 1);

	if (ret)
		return vc_fail(c, "must be \"passthrough\" or \"mapped\"");
	if (strcmp(mode, "passthrough") == 0)
		s->security = SHARE_PASSTHROUGH;
	else if (strcmp(mode, "mapped") == 0)
		s->security = SHARE_MAPPED;
	else
		return vc_fail(c, "must be \"passthrough\" or \"mapped\"");
	return 0;
}

static const struct field share_fields[] = {
	{ "path", share_path, NULL, NULL },
	{ "tag", share_tag, NULL, NULL },
	{ "readonly", share_readonly, NULL, NULL },
	{ "security", share_security, NULL, NULL },
	{ NULL, NULL, NULL, NULL },
};

static int parse_share(struct jctx *c, struct json_object *v, size_t i)
{
	struct share_config *s = &c->cfg->shares[c->cfg->nr_shares++];
	int ret;

	*s = (struct share_config){ .security = SHARE_PASSTHROUGH };
	ret = vc_walk(c, v, share_fields, s);
	if (!ret)
		ret = vc_require(c, s->path != NULL, "path");
	if (!ret)
		ret = vc_require(c, s->tag[0] != '\0', "tag");
	for (unsigned int j = 0; !ret && j + 1 < c->cfg->nr_shares; j++)
		if (strcmp(c->cfg->shares[j].tag, s->tag) == 0)
			ret = vc_fail(c, "tag '%s' used twice", s->tag);
	return ret;
}

int vc_parse_shares(struct jctx *c, struct json_object *v, void *obj)
{
	return vc_walk_array(c, v, VM_MAX_SHARES, parse_share);
}

/* ---- serial and console */

static int get_mode(struct jctx *c, struct json_object *v, enum con_mode *out)
{
	char name[8];

	if (vc_get_string_buf(c, v, name, sizeof(name) - 1) == 0) {
		for (int m = MODE_OFF; m <= MODE_NULL; m++) {
			if (strcmp(name, mode_names[m]) == 0) {
				*out = (enum con_mode)m;
				return 0;
			}
		}
	}
	return vc_fail(c, "must be one of Off, Pty, Tty, File, Socket, Null");
}

static int serial_mode(struct jctx *c, struct json_object *v, void *obj)
{
	int ret = get_mode(c, v, &c->serial);

	if (!ret && c->serial != MODE_OFF && c->serial != MODE_NULL && c->serial != MODE_TTY &&
	    c->serial != MODE_SOCKET)
		ret = vc_fail(c, "%s is not supported by sardine (Off, Null, Tty or Socket)",
			   mode_names[c->serial]);
	return ret;
}

static int console_mode(struct jctx *c, struct json_object *v, void *obj)
{
	int ret = get_mode(c, v, &c->console);

	if (!ret && c->console != MODE_OFF && c->console != MODE_TTY)
		ret = vc_fail(c, "%s is not supported by sardine (Off or Tty)", mode_names[c->console]);
	return ret;
}

static const struct field serial_fields[] = {
	{ "mode", serial_mode, NULL, NULL },
	{ "file", NULL, NULL, NULL },
	{ "socket", NULL, NULL, "sardine puts the console socket next to the API socket" },
	{ NULL, NULL, NULL, NULL },
};

static const struct field console_fields[] = {
	{ "mode", console_mode, NULL, NULL },
	{ "file", NULL, NULL, NULL },
	{ "socket", NULL, NULL, NULL },
	{ "iommu", NULL, "false", NULL },
	{ "id", NULL, NULL, NULL },
	{ "pci_segment", NULL, "0", NULL },
	{ "pci_device_id", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL },
};

int vc_parse_serial(struct jctx *c, struct json_object *v, void *obj)
{
	return vc_walk(c, v, serial_fields, obj);
}

int vc_parse_console(struct jctx *c, struct json_object *v, void *obj)
{
	return vc_walk(c, v, console_fields, obj);
}

/* serial (COM1) and console (virtio-console) -> sardine's one choice.
 * COM1 always exists in sardine's platform: serial Off acts as Null. */
int vc_resolve_console(struct jctx *c)
{
	bool serial_quiet = c->serial == MODE_OFF || c->serial == MODE_NULL;

	if (c->console == MODE_TTY && serial_quiet)
		c->cfg->console = CONSOLE_VIRTIO;
	else if (c->console == MODE_OFF && c->serial == MODE_TTY)
		c->cfg->console = CONSOLE_SERIAL;
	else if (c->console == MODE_OFF && c->serial == MODE_SOCKET)
		c->cfg->console = CONSOLE_SOCKET;
	else if (c->console == MODE_OFF && serial_quiet)
		c->cfg->console = CONSOLE_NONE;
	else
		return vc_fail(c, "serial %s with console %s: sardine has one console (set the other Off)",
			    mode_names[c->serial], mode_names[c->console]);
	return 0;
}
