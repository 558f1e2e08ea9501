/* VmConfig JSON -> struct vm_config: a table per JSON object.  Each field
 * either has a parser, or names the one value sardine accepts for it (the
 * OpenAPI default of a feature sardine lacks), or is refused.  Errors name
 * the field's path, e.g. "net[1].mtu: not supported by sardine". */
#include "api/vmconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#define MAX_PATH_LEN 4096
#define MAX_CMDLINE_LEN 4096
#define MAX_QUEUES 64
#define MAX_CONFIG_FILE (1 << 20)
#define JSON_MAX_DEPTH 16

/* cloud-hypervisor's ConsoleMode. */
enum con_mode { MODE_OFF, MODE_PTY, MODE_TTY, MODE_FILE, MODE_SOCKET, MODE_NULL };
static const char *const mode_names[] = { "Off", "Pty", "Tty", "File", "Socket", "Null" };

struct jctx {
	struct vm_config *cfg;
	char *err;
	size_t errlen;
	char path[160]; /* where in the document we are: "disks[0].path" */
	size_t path_len;
	enum con_mode serial, console;
	bool have_boot_vcpus, have_mem_size, have_kernel;
	unsigned long max_vcpus;
};

typedef int (*parse_fn)(struct jctx *c, struct json_object *v, void *obj);

struct field {
	const char *key;
	parse_fn parse; /* NULL: sardine does not implement it */
	const char *only; /* ... then the one value accepted (JSON), if any */
	const char *hint; /* ... and what to do instead */
};

static int fail(struct jctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct jctx *c, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->path_len)
		snprintf(c->err, c->errlen, "%s: %s", c->path, msg);
	else
		snprintf(c->err, c->errlen, "%s", msg);
	return -EINVAL;
}

/* Appends ".key" or "[i]" to the path; returns the length to go back to.
 * Client-supplied keys are shown printable and short. */
static size_t push_key(struct jctx *c, const char *key)
{
	size_t mark = c->path_len, room = sizeof(c->path) - 1;

	if (c->path_len && c->path_len < room)
		c->path[c->path_len++] = '.';
	for (size_t i = 0; key[i] && i < 40 && c->path_len < room; i++)
		c->path[c->path_len++] = (key[i] > 0x20 && key[i] < 0x7f) ? key[i] : '?';
	c->path[c->path_len] = '\0';
	return mark;
}

static size_t push_index(struct jctx *c, size_t i)
{
	size_t mark = c->path_len;
	int n = snprintf(c->path + c->path_len, sizeof(c->path) - c->path_len, "[%zu]", i);

	if (n > 0 && c->path_len + (size_t)n < sizeof(c->path))
		c->path_len += (size_t)n;
	c->path[c->path_len] = '\0';
	return mark;
}

static void pop(struct jctx *c, size_t mark)
{
	c->path_len = mark;
	c->path[mark] = '\0';
}

/* ---- typed values */

static int get_bool(struct jctx *c, struct json_object *v, bool *out)
{
	if (!json_object_is_type(v, json_type_boolean))
		return fail(c, "must be true or false");
	*out = json_object_get_boolean(v);
	return 0;
}

static int get_uint(struct jctx *c, struct json_object *v, uint64_t min, uint64_t max,
		    uint64_t *out)
{
	uint64_t u;

	if (!json_object_is_type(v, json_type_int))
		return fail(c, "must be an integer");
	if (json_object_get_int64(v) < 0)
		return fail(c, "must not be negative");
	u = json_object_get_uint64(v);
	if (u < min || u > max)
		return fail(c, "%llu is out of range (%llu to %llu)", (unsigned long long)u,
			    (unsigned long long)min, (unsigned long long)max);
	*out = u;
	return 0;
}

/* A string without NUL bytes, 1 to max characters, into a fresh copy. */
static int get_string(struct jctx *c, struct json_object *v, size_t max, char **out)
{
	const char *s;
	size_t len;

	if (!json_object_is_type(v, json_type_string))
		return fail(c, "must be a string");
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len == 0)
		return fail(c, "must not be empty");
	if (len > max)
		return fail(c, "longer than %zu characters", max);
	if (memchr(s, '\0', len))
		return fail(c, "contains a NUL character");
	free(*out);
	*out = strdup(s);
	return *out ? 0 : fail(c, "out of memory");
}

/* The same into a fixed buffer of max+1 bytes. */
static int get_string_buf(struct jctx *c, struct json_object *v, char *buf, size_t max)
{
	char *s = NULL;
	int ret = get_string(c, v, max, &s);

	if (!ret)
		strcpy(buf, s);
	free(s);
	return ret;
}

/* ---- objects and arrays */

static const struct field *find_field(const struct field *fields, const char *key)
{
	for (; fields->key; fields++)
		if (strcmp(fields->key, key) == 0)
			return fields;
	return NULL;
}

static int refuse_or_accept_default(struct jctx *c, struct json_object *v, const struct field *f)
{
	struct json_object *ref;
	bool same;

	if (f->only) {
		ref = json_tokener_parse(f->only);
		same = ref && json_object_equal(v, ref);
		json_object_put(ref);
		if (same)
			return 0;
		return fail(c, "not supported by sardine (only %s, the default)%s%s", f->only,
			    f->hint ? "; " : "", f->hint ? f->hint : "");
	}
	return fail(c, "not supported by sardine%s%s", f->hint ? "; " : "", f->hint ? f->hint : "");
}

static int parse_rng(struct jctx *c, struct json_object *v, void *obj);

/* A JSON null stands for "left out" (cloud-hypervisor writes its unset
 * options that way), except for "rng", where sardine gives it a meaning. */
static int walk(struct jctx *c, struct json_object *o, const struct field *fields, void *obj)
{
	if (!json_object_is_type(o, json_type_object))
		return fail(c, "must be an object");
	json_object_object_foreach(o, key, val) {
		const struct field *f = find_field(fields, key);
		size_t mark = push_key(c, key);
		int ret;

		if (!f)
			ret = fail(c, "unknown field");
		else if (!val && f->parse != parse_rng)
			ret = 0;
		else if (f->parse)
			ret = f->parse(c, val, obj);
		else
			ret = refuse_or_accept_default(c, val, f);
		if (ret)
			return ret;
		pop(c, mark);
	}
	return 0;
}

/* Calls item(c, element, index) for each element of an array of at most max. */
static int walk_array(struct jctx *c, struct json_object *a, size_t max,
		      int (*item)(struct jctx *c, struct json_object *v, size_t i))
{
	size_t n;

	if (!json_object_is_type(a, json_type_array))
		return fail(c, "must be an array");
	n = json_object_array_length(a);
	if (n > max)
		return fail(c, "at most %zu entries", max);
	for (size_t i = 0; i < n; i++) {
		size_t mark = push_index(c, i);
		int ret = item(c, json_object_array_get_idx(a, i), i);

		if (ret)
			return ret;
		pop(c, mark);
	}
	return 0;
}

static int require(struct jctx *c, bool present, const char *key)
{
	return present ? 0 : fail(c, "'%s' is required", key);
}

/* ---- cpus, memory, payload */

static int cpus_boot(struct jctx *c, struct json_object *v, void *obj)
{
	uint64_t n;
	int ret = get_uint(c, v, 1, VM_MAX_CPUS, &n);

	c->cfg->nr_cpus = (unsigned int)n;
	c->have_boot_vcpus = true;
	return ret;
}

static int cpus_max(struct jctx *c, struct json_object *v, void *obj)
{
	uint64_t n;
	int ret = get_uint(c, v, 1, VM_MAX_CPUS, &n);

	c->max_vcpus = (unsigned long)n;
	return ret;
}

static const struct field cpu_features_fields[] = {
	{ "amx", NULL, "false", NULL },
	{ NULL, NULL, NULL, NULL },
};

static int parse_cpu_features(struct jctx *c, struct json_object *v, void *obj)
{
	return walk(c, v, cpu_features_fields, obj);
}

static const struct field cpus_fields[] = {
	{ "boot_vcpus", cpus_boot, NULL, NULL },
	{ "max_vcpus", cpus_max, NULL, NULL },
	{ "topology", NULL, NULL, NULL },
	{ "kvm_hyperv", NULL, "false", NULL },
	{ "max_phys_bits", NULL, "46", NULL },
	{ "nested", NULL, "true", NULL },
	{ "affinity", NULL, "[]", NULL },
	{ "features", parse_cpu_features, NULL, NULL },
	{ "core_scheduling", NULL, "\"Off\"", "sardine does not set up core scheduling" },
	{ NULL, NULL, NULL, NULL },
};

static int parse_cpus(struct jctx *c, struct json_object *v, void *obj)
{
	int ret;

	c->max_vcpus = 0;
	ret = walk(c, v, cpus_fields, obj);
	if (!ret)
		ret = require(c, c->have_boot_vcpus, "boot_vcpus");
	if (!ret && c->max_vcpus && c->max_vcpus != c->cfg->nr_cpus)
		ret = fail(c, "max_vcpus must equal boot_vcpus (no CPU hot-plug in sardine)");
	return ret;
}

static int mem_size(struct jctx *c, struct json_object *v, void *obj)
{
	uint64_t size;
	int ret = get_uint(c, v, VM_MIN_MEM, VM_MAX_MEM, &size);

	if (!ret && size % 4096)
		ret = fail(c, "must be a multiple of 4096");
	c->cfg->mem_size = size;
	c->have_mem_size = true;
	return ret;
}

static int mem_mergeable(struct jctx *c, struct json_object *v, void *obj)
{
	bool on = false;
	int ret = get_bool(c, v, &on);

	c->cfg->no_merge = !on;
	return ret;
}

static const struct field memory_fields[] = {
	{ "size", mem_size, NULL, NULL },
	{ "mergeable", mem_mergeable, NULL, NULL },
	{ "hotplug_size", NULL, "0", "no memory hot-plug in sardine" },
	{ "hotplugged_size", NULL, "0", "no memory hot-plug in sardine" },
	{ "hotplug_method", NULL, "\"Acpi\"", NULL },
	{ "shared", NULL, "false", NULL },
	{ "hugepages", NULL, "false", "sardine backs RAM with transparent huge pages" },
	{ "hugepage_size", NULL, NULL, NULL },
	{ "prefault", NULL, "false", NULL },
	{ "reserve", NULL, "false", NULL },
	{ "thp", NULL, "true", NULL },
	{ "zones", NULL, "[]", NULL },
	{ NULL, NULL, NULL, NULL },
};

static int parse_memory(struct jctx *c, struct json_object *v, void *obj)
{
	int ret = walk(c, v, memory_fields, obj);

	return ret ? ret : require(c, c->have_mem_size, "size");
}

static int payload_kernel(struct jctx *c, struct json_object *v, void *obj)
{
	c->have_kernel = true;
	return get_string(c, v, MAX_PATH_LEN, &c->cfg->kernel);
}

static int payload_initramfs(struct jctx *c, struct json_object *v, void *obj)
{
	return get_string(c, v, MAX_PATH_LEN, &c->cfg->initrd);
}

static int payload_cmdline(struct jctx *c, struct json_object *v, void *obj)
{
	/* An empty command line is a command line. */
	if (json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 0) {
		free(c->cfg->cmdline);
		c->cfg->cmdline = strdup("");
		return c->cfg->cmdline ? 0 : fail(c, "out of memory");
	}
	return get_string(c, v, MAX_CMDLINE_LEN, &c->cfg->cmdline);
}

static const struct field payload_fields[] = {
	{ "kernel", payload_kernel, NULL, NULL },
	{ "initramfs", payload_initramfs, NULL, NULL },
	{ "cmdline", payload_cmdline, NULL, NULL },
	{ "firmware", NULL, NULL, "sardine boots a kernel directly (give 'kernel')" },
	{ "igvm", NULL, NULL, NULL },
	{ "host_data", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL },
};

static int parse_payload(struct jctx *c, struct json_object *v, void *obj)
{
	int ret = walk(c, v, payload_fields, obj);

	return ret ? ret : require(c, c->have_kernel, "kernel");
}

/* ---- disks */

static int disk_path(struct jctx *c, struct json_object *v, void *obj)
{
	return get_string(c, v, MAX_PATH_LEN, &((struct disk_config *)obj)->path);
}

static int disk_readonly(struct jctx *c, struct json_object *v, void *obj)
{
	return get_bool(c, v, &((struct disk_config *)obj)->readonly);
}

static int disk_direct(struct jctx *c, struct json_object *v, void *obj)
{
	bool direct = false;
	int ret = get_bool(c, v, &direct);

	((struct disk_config *)obj)->cache = direct ? DISK_CACHE_NONE : DISK_CACHE_WRITEBACK;
	return ret;
}

static int disk_queues(struct jctx *c, struct json_object *v, void *obj)
{
	uint64_t n;
	int ret = get_uint(c, v, 1, MAX_QUEUES, &n);

	((struct disk_config *)obj)->queues = (unsigned int)n;
	return ret;
}

static int disk_serial(struct jctx *c, struct json_object *v, void *obj)
{
	return get_string_buf(c, v, ((struct disk_config *)obj)->serial, DISK_SERIAL_MAX);
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
	{ "image_type", NULL, "\"Raw\"", "sardine reads raw images" },
	{ "lock_granularity", NULL, "\"ByteRange\"", NULL },
	{ NULL, NULL, NULL, NULL },
};

static int parse_disk(struct jctx *c, struct json_object *v, size_t i)
{
	struct disk_config *d = &c->cfg->disks[c->cfg->nr_disks++];
	int ret;

	/* The OpenAPI default is one queue (sardine's command line: one per vCPU). */
	*d = (struct disk_config){ .cache = DISK_CACHE_WRITEBACK, .queues = 1 };
	ret = walk(c, v, disk_fields, d);
	return ret ? ret : require(c, d->path != NULL, "path");
}

static int parse_disks(struct jctx *c, struct json_object *v, void *obj)
{
	return walk_array(c, v, VM_MAX_DISKS, parse_disk);
}

/* ---- net */

static int net_tap(struct jctx *c, struct json_object *v, void *obj)
{
	return get_string(c, v, 15, &((struct net_config *)obj)->tap);
}

static int net_fd(struct jctx *c, struct json_object *v, void *obj)
{
	uint64_t fd;
	int ret = get_uint(c, v, 0, 1 << 20, &fd);

	((struct net_config *)obj)->fd = (int)fd;
	return ret;
}

static int net_mac(struct jctx *c, struct json_object *v, void *obj)
{
	struct net_config *n = obj;
	char mac[18];
	int ret = get_string_buf(c, v, mac, 17);

	if (!ret && parse_mac(mac, n->mac))
		ret = fail(c, "'%s' is not a unicast MAC address", mac);
	n->mac_set = !ret;
	return ret;
}

/* cloud-hypervisor counts queues, sardine queue pairs. */
static int net_queues(struct jctx *c, struct json_object *v, void *obj)
{
	uint64_t n;
	int ret = get_uint(c, v, 2, 2 * MAX_QUEUES, &n);

	if (!ret && n % 2)
		ret = fail(c, "must be even (one receive and one transmit queue per pair)");
	((struct net_config *)obj)->queues = (unsigned int)(n / 2);
	return ret;
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
	{ "queue_size", NULL, "256", "sardine sizes its queues itself" },
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
	ret = walk(c, v, net_fields, n);
	if (!ret && !n->tap == (n->fd < 0))
		ret = fail(c, "give exactly one of 'tap' (an existing TAP interface) and 'fd'");
	return ret;
}

static int parse_nets(struct jctx *c, struct json_object *v, void *obj)
{
	return walk_array(c, v, VM_MAX_NETS, parse_net);
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
static int parse_rng(struct jctx *c, struct json_object *v, void *obj)
{
	c->cfg->no_rng = v == NULL;
	return v ? walk(c, v, rng_fields, obj) : 0;
}

static int balloon_size(struct jctx *c, struct json_object *v, void *obj)
{
	return get_uint(c, v, 0, VM_MAX_MEM, &((struct balloon_config *)obj)->size);
}

static int balloon_deflate(struct jctx *c, struct json_object *v, void *obj)
{
	return get_bool(c, v, &((struct balloon_config *)obj)->deflate_on_oom);
}

static int balloon_reporting(struct jctx *c, struct json_object *v, void *obj)
{
	return get_bool(c, v, &((struct balloon_config *)obj)->free_page_reporting);
}

static int balloon_auto(struct jctx *c, struct json_object *v, void *obj)
{
	return get_bool(c, v, &((struct balloon_config *)obj)->auto_size);
}

static int balloon_margin(struct jctx *c, struct json_object *v, void *obj)
{
	return get_uint(c, v, 0, VM_MAX_MEM, &((struct balloon_config *)obj)->auto_margin);
}

static int get_pct(struct jctx *c, struct json_object *v, unsigned int *out)
{
	uint64_t n;
	int ret = get_uint(c, v, 1, 100, &n);

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

static int parse_balloon(struct jctx *c, struct json_object *v, void *obj)
{
	struct balloon_config *b = &c->cfg->balloon;
	int ret;

	memset(b, 0, sizeof(*b));
	if (!v)
		return 0;
	b->size = UINT64_MAX; /* not given yet */
	ret = walk(c, v, balloon_fields, b);
	if (!ret)
		ret = require(c, b->size != UINT64_MAX, "size");
	b->enabled = !ret;
	return ret;
}

static int share_path(struct jctx *c, struct json_object *v, void *obj)
{
	return get_string(c, v, MAX_PATH_LEN, &((struct share_config *)obj)->path);
}

static int share_tag(struct jctx *c, struct json_object *v, void *obj)
{
	return get_string_buf(c, v, ((struct share_config *)obj)->tag, SHARE_TAG_MAX);
}

static int share_readonly(struct jctx *c, struct json_object *v, void *obj)
{
	return get_bool(c, v, &((struct share_config *)obj)->readonly);
}

static int share_security(struct jctx *c, struct json_object *v, void *obj)
{
	struct share_config *s = obj;
	char mode[16];
	int ret = get_string_buf(c, v, mode, sizeof(mode) - 1);

	if (ret)
		return fail(c, "must be \"passthrough\" or \"mapped\"");
	if (strcmp(mode, "passthrough") == 0)
		s->security = SHARE_PASSTHROUGH;
	else if (strcmp(mode, "mapped") == 0)
		s->security = SHARE_MAPPED;
	else
		return fail(c, "must be \"passthrough\" or \"mapped\"");
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
	ret = walk(c, v, share_fields, s);
	if (!ret)
		ret = require(c, s->path != NULL, "path");
	if (!ret)
		ret = require(c, s->tag[0] != '\0', "tag");
	for (unsigned int j = 0; !ret && j + 1 < c->cfg->nr_shares; j++)
		if (strcmp(c->cfg->shares[j].tag, s->tag) == 0)
			ret = fail(c, "tag '%s' used twice", s->tag);
	return ret;
}

static int parse_shares(struct jctx *c, struct json_object *v, void *obj)
{
	return walk_array(c, v, VM_MAX_SHARES, parse_share);
}

/* ---- serial and console */

static int get_mode(struct jctx *c, struct json_object *v, enum con_mode *out)
{
	char name[8];

	if (get_string_buf(c, v, name, sizeof(name) - 1) == 0) {
		for (int m = MODE_OFF; m <= MODE_NULL; m++) {
			if (strcmp(name, mode_names[m]) == 0) {
				*out = (enum con_mode)m;
				return 0;
			}
		}
	}
	return fail(c, "must be one of Off, Pty, Tty, File, Socket, Null");
}

static int serial_mode(struct jctx *c, struct json_object *v, void *obj)
{
	int ret = get_mode(c, v, &c->serial);

	if (!ret && c->serial != MODE_OFF && c->serial != MODE_NULL && c->serial != MODE_TTY &&
	    c->serial != MODE_SOCKET)
		ret = fail(c, "%s is not supported by sardine (Off, Null, Tty or Socket)",
			   mode_names[c->serial]);
	return ret;
}

static int console_mode(struct jctx *c, struct json_object *v, void *obj)
{
	int ret = get_mode(c, v, &c->console);

	if (!ret && c->console != MODE_OFF && c->console != MODE_TTY)
		ret = fail(c, "%s is not supported by sardine (Off or Tty)", mode_names[c->console]);
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

static int parse_serial(struct jctx *c, struct json_object *v, void *obj)
{
	return walk(c, v, serial_fields, obj);
}

static int parse_console(struct jctx *c, struct json_object *v, void *obj)
{
	return walk(c, v, console_fields, obj);
}

/* serial (COM1) and console (virtio-console) -> sardine's one choice.
 * COM1 always exists in sardine's platform: serial Off acts as Null. */
static int resolve_console(struct jctx *c)
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
		return fail(c, "serial %s with console %s: sardine has one console (set the other Off)",
			    mode_names[c->serial], mode_names[c->console]);
	return 0;
}

/* ---- the VmConfig */

static const struct field platform_fields[] = {
	{ "num_pci_segments", NULL, "1", NULL },
	{ "iommu_segments", NULL, "[]", NULL },
	{ "iommu_address_width_bits", NULL, NULL, NULL },
	{ "system_serial_number", NULL, NULL, NULL },
	{ "serial_number", NULL, NULL, NULL },
	{ "system_uuid", NULL, NULL, NULL },
	{ "uuid", NULL, NULL, NULL },
	{ "oem_strings", NULL, "[]", NULL },
	{ "system_manufacturer", NULL, NULL, NULL },
	{ "system_product_name", NULL, NULL, NULL },
	{ "system_version", NULL, NULL, NULL },
	{ "system_family", NULL, NULL, NULL },
	{ "system_sku_number", NULL, NULL, NULL },
	{ "chassis_asset_tag", NULL, NULL, NULL },
	{ "tdx", NULL, "false", NULL },
	{ "sev_snp", NULL, "false", NULL },
	{ "iommufd", NULL, "false", NULL },
	{ "vfio_p2p_dma", NULL, "true", NULL },
	{ NULL, NULL, NULL, NULL },
};

static int parse_platform(struct jctx *c, struct json_object *v, void *obj)
{
	return walk(c, v, platform_fields, obj);
}

static const struct field vm_fields[] = {
	{ "cpus", parse_cpus, NULL, NULL },
	{ "memory", parse_memory, NULL, NULL },
	{ "payload", parse_payload, NULL, NULL },
	{ "disks", parse_disks, NULL, NULL },
	{ "net", parse_nets, NULL, NULL },
	{ "rng", parse_rng, NULL, NULL },
	{ "balloon", parse_balloon, NULL, NULL },
	{ "serial", parse_serial, NULL, NULL },
	{ "console", parse_console, NULL, NULL },
	{ "shares", parse_shares, NULL, NULL }, /* sardine: 9p host directories */
	{ "platform", parse_platform, NULL, NULL },
	{ "fs", NULL, "[]", "virtio-fs needs vhost-user; share host directories over 9p with 'shares'" },
	{ "rate_limit_groups", NULL, "[]", NULL },
	{ "generic_vhost_user", NULL, "[]", NULL },
	{ "pmem", NULL, "[]", NULL },
	{ "devices", NULL, "[]", "no VFIO device assignment in sardine" },
	{ "user_devices", NULL, "[]", NULL },
	{ "vdpa", NULL, "[]", NULL },
	{ "vsock", NULL, NULL, NULL },
	{ "numa", NULL, "[]", NULL },
	{ "pci_segments", NULL, "[]", NULL },
	{ "debug_console", NULL, "{\"mode\":\"Off\"}", NULL },
	{ "iommu", NULL, "false", NULL },
	{ "watchdog", NULL, "false", NULL },
	{ "pvpanic", NULL, "false", NULL },
	{ "rtc", NULL, NULL, NULL },
	{ "tpm", NULL, NULL, NULL },
	{ "landlock_enable", NULL, "false", NULL },
	{ "landlock_rules", NULL, "[]", NULL },
	{ NULL, NULL, NULL, NULL },
};

/* The OpenAPI defaults of everything a VmConfig may leave out. */
static void api_defaults(struct vm_config *cfg)
{
	config_init_defaults(cfg);
	cfg->mem_size = 512ULL << 20;
	cfg->nr_cpus = 1;
	cfg->no_merge = true; /* mergeable: false */
}

int vmconfig_from_json(struct json_object *doc, struct vm_config *cfg, char *err, size_t errlen)
{
	struct jctx c = { .cfg = cfg, .err = err, .errlen = errlen,
			  .serial = MODE_NULL, .console = MODE_TTY };
	int ret;

	api_defaults(cfg);
	ret = walk(&c, doc, vm_fields, cfg);
	if (!ret)
		ret = require(&c, c.have_kernel, "payload");
	if (!ret)
		ret = resolve_console(&c);
	if (!ret && cfg->balloon.enabled && cfg->balloon.size >= cfg->mem_size)
		ret = fail(&c, "balloon.size must be smaller than memory.size");
	if (ret)
		config_free(cfg);
	return ret;
}

int vmconfig_parse(const char *json, size_t len, struct vm_config *cfg, char *err, size_t errlen)
{
	struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	struct json_object *doc;
	enum json_tokener_error jerr;
	int ret;

	config_init_defaults(cfg);
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	doc = json_tokener_parse_ex(tok, json, (int)(len > INT_MAX ? INT_MAX : len));
	jerr = json_tokener_get_error(tok);
	if (!doc || jerr != json_tokener_success) {
		snprintf(err, errlen, "not JSON: %s at byte %zu",
			 jerr == json_tokener_continue ? "the document ends early"
						       : json_tokener_error_desc(jerr),
			 json_tokener_get_parse_end(tok));
		ret = -EINVAL;
	} else if (json_tokener_get_parse_end(tok) != len) {
		snprintf(err, errlen, "not JSON: trailing data at byte %zu",
			 json_tokener_get_parse_end(tok));
		ret = -EINVAL;
	} else {
		ret = vmconfig_from_json(doc, cfg, err, errlen);
	}
	json_object_put(doc);
	json_tokener_free(tok);
	return ret;
}

int vmconfig_load(const char *path, struct vm_config *cfg, char *err, size_t errlen)
{
	char msg[256];
	struct stat st;
	char *buf = NULL;
	ssize_t n = 0;
	int fd, ret;

	config_init_defaults(cfg);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > MAX_CONFIG_FILE) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file of at most 1 MiB", path);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf)
		n = read(fd, buf, (size_t)st.st_size);
	if (!buf || n != st.st_size) {
		ret = -EIO;
		snprintf(err, errlen, "%s: cannot read it", path);
		goto out;
	}
	ret = vmconfig_parse(buf, (size_t)n, cfg, msg, sizeof(msg));
	if (ret)
		snprintf(err, errlen, "%s: %s", path, msg);
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return ret;
}
