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

#include "api/vmconfig_parse.h"

#define MAX_CONFIG_FILE (1 << 20)
#define JSON_MAX_DEPTH 16

int vc_fail(struct jctx *c, const char *fmt, ...)
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

int vc_get_bool(struct jctx *c, struct json_object *v, bool *out)
{
	if (!json_object_is_type(v, json_type_boolean))
		return vc_fail(c, "must be true or false");
	*out = json_object_get_boolean(v);
	return 0;
}

int vc_get_uint(struct jctx *c, struct json_object *v, uint64_t min, uint64_t max,
		uint64_t *out)
{
	uint64_t u;

	if (!json_object_is_type(v, json_type_int))
		return vc_fail(c, "must be an integer");
	if (json_object_get_int64(v) < 0)
		return vc_fail(c, "must not be negative");
	u = json_object_get_uint64(v);
	if (u < min || u > max)
		return vc_fail(c, "%llu is out of range (%llu to %llu)", (unsigned long long)u,
			    (unsigned long long)min, (unsigned long long)max);
	*out = u;
	return 0;
}

int vc_get_string(struct jctx *c, struct json_object *v, size_t max, char **out)
{
	const char *s;
	size_t len;

	if (!json_object_is_type(v, json_type_string))
		return vc_fail(c, "must be a string");
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len == 0)
		return vc_fail(c, "must not be empty");
	if (len > max)
		return vc_fail(c, "longer than %zu characters", max);
	if (memchr(s, '\0', len))
		return vc_fail(c, "contains a NUL character");
	free(*out);
	*out = strdup(s);
	return *out ? 0 : vc_fail(c, "out of memory");
}

int vc_get_string_buf(struct jctx *c, struct json_object *v, char *buf, size_t max)
{
	char *s = NULL;
	int ret = vc_get_string(c, v, max, &s);

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
		return vc_fail(c, "not supported by sardine (only %s, the default)%s%s", f->only,
			    f->hint ? "; " : "", f->hint ? f->hint : "");
	}
	return vc_fail(c, "not supported by sardine%s%s", f->hint ? "; " : "", f->hint ? f->hint : "");
}

/* A JSON null stands for "left out" (cloud-hypervisor writes its unset
 * options that way), except for "rng", where sardine gives it a meaning. */
int vc_walk(struct jctx *c, struct json_object *o, const struct field *fields, void *obj)
{
	if (!json_object_is_type(o, json_type_object))
		return vc_fail(c, "must be an object");
	json_object_object_foreach(o, key, val) {
		const struct field *f = find_field(fields, key);
		size_t mark = push_key(c, key);
		int ret;

		if (!f)
			ret = vc_fail(c, "unknown field");
		else if (!val && f->parse != vc_parse_rng)
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

int vc_walk_array(struct jctx *c, struct json_object *a, size_t max,
		  int (*item)(struct jctx *c, struct json_object *v, size_t i))
{
	size_t n;

	if (!json_object_is_type(a, json_type_array))
		return vc_fail(c, "must be an array");
	n = json_object_array_length(a);
	if (n > max)
		return vc_fail(c, "at most %zu entries", max);
	for (size_t i = 0; i < n; i++) {
		size_t mark = push_index(c, i);
		int ret = item(c, json_object_array_get_idx(a, i), i);

		if (ret)
			return ret;
		pop(c, mark);
	}
	return 0;
}

int vc_require(struct jctx *c, bool present, const char *key)
{
	return present ? 0 : vc_fail(c, "'%s' is required", key);
}

/* ---- cpus, memory, payload */

static int cpus_boot(struct jctx *c, struct json_object *v, void *obj)
{
	uint64_t n;
	int ret = vc_get_uint(c, v, 1, VM_MAX_CPUS, &n);

	c->cfg->nr_cpus = (unsigned int)n;
	c->have_boot_vcpus = true;
	return ret;
}

static int cpus_max(struct jctx *c, struct json_object *v, void *obj)
{
	uint64_t n;
	int ret = vc_get_uint(c, v, 1, VM_MAX_CPUS, &n);

	c->max_vcpus = (unsigned long)n;
	return ret;
}

static const struct field cpu_features_fields[] = {
	{ "amx", NULL, "false", NULL },
	{ NULL, NULL, NULL, NULL },
};

static int parse_cpu_features(struct jctx *c, struct json_object *v, void *obj)
{
	return vc_walk(c, v, cpu_features_fields, obj);
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
	ret = vc_walk(c, v, cpus_fields, obj);
	if (!ret)
		ret = vc_require(c, c->have_boot_vcpus, "boot_vcpus");
	if (!ret && c->max_vcpus && c->max_vcpus != c->cfg->nr_cpus)
		ret = vc_fail(c, "max_vcpus must equal boot_vcpus (no CPU hot-plug in sardine)");
	return ret;
}

static int mem_size(struct jctx *c, struct json_object *v, void *obj)
{
	uint64_t size;
	int ret = vc_get_uint(c, v, VM_MIN_MEM, VM_MAX_MEM, &size);

	if (!ret && size % 4096)
		ret = vc_fail(c, "must be a multiple of 4096");
	c->cfg->mem_size = size;
	c->have_mem_size = true;
	return ret;
}

static int mem_mergeable(struct jctx *c, struct json_object *v, void *obj)
{
	bool on = false;
	int ret = vc_get_bool(c, v, &on);

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
	int ret = vc_walk(c, v, memory_fields, obj);

	return ret ? ret : vc_require(c, c->have_mem_size, "size");
}

static int payload_kernel(struct jctx *c, struct json_object *v, void *obj)
{
	c->have_kernel = true;
	return vc_get_string(c, v, MAX_PATH_LEN, &c->cfg->kernel);
}

static int payload_initramfs(struct jctx *c, struct json_object *v, void *obj)
{
	return vc_get_string(c, v, MAX_PATH_LEN, &c->cfg->initrd);
}

static int payload_cmdline(struct jctx *c, struct json_object *v, void *obj)
{
	/* An empty command line is a command line. */
	if (json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 0) {
		free(c->cfg->cmdline);
		c->cfg->cmdline = strdup("");
		return c->cfg->cmdline ? 0 : vc_fail(c, "out of memory");
	}
	return vc_get_string(c, v, MAX_CMDLINE_LEN, &c->cfg->cmdline);
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
	int ret = vc_walk(c, v, payload_fields, obj);

	return ret ? ret : vc_require(c, c->have_kernel, "kernel");
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
	return vc_walk(c, v, platform_fields, obj);
}

static const struct field vm_fields[] = {
	{ "cpus", parse_cpus, NULL, NULL },
	{ "memory", parse_memory, NULL, NULL },
	{ "payload", parse_payload, NULL, NULL },
	{ "disks", vc_parse_disks, NULL, NULL },
	{ "net", vc_parse_nets, NULL, NULL },
	{ "rng", vc_parse_rng, NULL, NULL },
	{ "balloon", vc_parse_balloon, NULL, NULL },
	{ "serial", vc_parse_serial, NULL, NULL },
	{ "console", vc_parse_console, NULL, NULL },
	{ "shares", vc_parse_shares, NULL, NULL }, /* sardine: 9p host directories */
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
	ret = vc_walk(&c, doc, vm_fields, cfg);
	if (!ret)
		ret = vc_require(&c, c.have_kernel, "payload");
	if (!ret)
		ret = vc_resolve_console(&c);
	if (!ret && cfg->balloon.enabled && cfg->balloon.size >= cfg->mem_size)
		ret = vc_fail(&c, "balloon.size must be smaller than memory.size");
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
