#include "vmm/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int reason(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void config_init_defaults(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_size = 256ULL << 20;
	cfg->nr_cpus = 1;
	cfg->console = CONSOLE_SERIAL;
}

void config_free(struct vm_config *cfg)
{
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->cmdline);
	free(cfg->api_socket);
	for (unsigned int i = 0; i < cfg->nr_disks; i++)
		free(cfg->disks[i].path);
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		free(cfg->nets[i].tap);
	for (unsigned int i = 0; i < cfg->nr_shares; i++)
		free(cfg->shares[i].path);
	config_init_defaults(cfg);
}

static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int config_copy(struct vm_config *dst, const struct vm_config *src)
{
	int ret = 0;

	*dst = *src;
	ret |= dup_str(&dst->kernel, src->kernel);
	ret |= dup_str(&dst->initrd, src->initrd);
	ret |= dup_str(&dst->cmdline, src->cmdline);
	ret |= dup_str(&dst->api_socket, src->api_socket);
	for (unsigned int i = 0; i < src->nr_disks; i++)
		ret |= dup_str(&dst->disks[i].path, src->disks[i].path);
	for (unsigned int i = 0; i < src->nr_nets; i++)
		ret |= dup_str(&dst->nets[i].tap, src->nets[i].tap);
	for (unsigned int i = 0; i < src->nr_shares; i++)
		ret |= dup_str(&dst->shares[i].path, src->shares[i].path);
	if (ret) {
		config_free(dst);
		return -ENOMEM;
	}
	return 0;
}

int parse_size(const char *s, uint64_t default_unit, uint64_t *out)
{
	unsigned long long v;
	uint64_t unit = default_unit;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (*end) {
		switch (toupper((unsigned char)*end)) {
		case 'B': unit = 1; break;
		case 'K': unit = 1ULL << 10; break;
		case 'M': unit = 1ULL << 20; break;
		case 'G': unit = 1ULL << 30; break;
		case 'T': unit = 1ULL << 40; break;
		default: return -EINVAL;
		}
		end++;
		/* Accept "4G", "4GB", "4GiB". */
		if (unit > 1 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0))
			end += strlen(end);
		if (*end)
			return -EINVAL;
	}
	if (v > UINT64_MAX / unit)
		return -ERANGE;
	*out = v * unit;
	return 0;
}

int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6 || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	/* A unicast address: the multicast bit set would break the guest. */
	return (mac[0] & 1) ? -EINVAL : 0;
}

int config_validate(const struct vm_config *cfg, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < cfg->nr_shares; i++) {
		struct stat st;

		if (stat(cfg->shares[i].path, &st))
			return reason(err, errlen, "--share: %s: %s", cfg->shares[i].path,
				      strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return reason(err, errlen, "--share: %s is not a directory",
				      cfg->shares[i].path);
	}
	if (cfg->balloon.size >= cfg->mem_size)
		return reason(err, errlen, "--balloon: size must be smaller than --memory");
	if (cfg->name[0] && !config_valid_name(cfg->name))
		return reason(err, errlen, "--name: '%s' is not 1-%d letters, digits, '.', '_' or '-'",
			      cfg->name, VM_NAME_MAX);
	return 0;
}

bool config_valid_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > VM_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
			return false;
	return true;
}

static int reason(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Splits "first,key=value,flag,..." in place: `first` is the part before
 * the first comma (NULL when it has '='), then calls fn per key. */
typedef int (*kv_fn)(void *obj, const char *key, const char *value, char *err, size_t errlen);

static int parse_kv(char *spec, char **first, kv_fn fn, void *obj, char *err, size_t errlen)
{
	char *save = NULL, *tok;
	bool is_first = true;

	*first = NULL;
	for (tok = strtok_r(spec, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		int ret;

		if (is_first && !eq) {
			*first = tok;
			is_first = false;
			continue;
		}
		is_first = false;
		if (eq)
			*eq = '\0';
		ret = fn(obj, tok, eq ? eq + 1 : NULL, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

static bool on_off(const char *v, bool *out)
{
	if (!v || strcmp(v, "on") == 0 || strcmp(v, "true") == 0) {
		*out = true;
		return true;
	}
	if (strcmp(v, "off") == 0 || strcmp(v, "false") == 0) {
		*out = false;
		return true;
	}
	return false;
}

static int disk_key(void *obj, const char *key, const char *v, char *err, size_t errlen)
{
	struct disk_config *d = obj;
	unsigned long n;

	if (strcmp(key, "ro") == 0 && !v) {
		d->readonly = true;
	} else if (strcmp(key, "path") == 0 && v) {
		free(d->path);
		d->path = strdup(v);
		if (!d->path)
			return -ENOMEM;
	} else if (strcmp(key, "cache") == 0 && v && strcmp(v, "none") == 0) {
		d->cache = DISK_CACHE_NONE;
	} else if (strcmp(key, "cache") == 0 && v && strcmp(v, "writeback") == 0) {
		d->cache = DISK_CACHE_WRITEBACK;
	} else if (strcmp(key, "serial") == 0 && v) {
		if (strlen(v) > DISK_SERIAL_MAX)
			return reason(err, errlen, "--disk: serial '%s' is longer than %d characters",
				      v, DISK_SERIAL_MAX);
		strcpy(d->serial, v);
	} else if (strcmp(key, "format") == 0 && v) {
		if (strcmp(v, "raw") != 0)
			return reason(err, errlen, "--disk: format=%s: sardine runs raw images only", v);
		d->format_raw = true;
	} else if (strcmp(key, "queues") == 0 && v) {
		if (parse_uint(v, 1, 64, &n))
			return reason(err, errlen, "--disk: queues=%s is not a number from 1 to 64", v);
		d->queues = (unsigned int)n;
	} else {
		return reason(err, errlen, "--disk: unknown or malformed option '%s%s%s'", key,
			      v ? "=" : "", v ? v : "");
	}
	return 0;
}

int config_add_disk(struct vm_config *cfg, const char *spec, char *err, size_t errlen)
{
	struct disk_config d = { .cache = DISK_CACHE_WRITEBACK };
	char *copy = strdup(spec), *first;
	int ret;

	if (!copy)
		return -ENOMEM;
	if (cfg->nr_disks == VM_MAX_DISKS) {
		free(copy);
		return reason(err, errlen, "--disk: at most %d disks", VM_MAX_DISKS);
	}
	ret = parse_kv(copy, &first, disk_key, &d, err, errlen);
	if (!ret && first) {
		free(d.path);
		d.path = strdup(first);
		if (!d.path)
			ret = -ENOMEM;
	}
	if (!ret && (!d.path || !*d.path))
		ret = reason(err, errlen, "--disk: no image path in '%s'", spec);
	free(copy);
	if (ret) {
		free(d.path);
		return ret;
	}
	cfg->disks[cfg->nr_disks++] = d;
	return 0;
}

static int net_key(void *obj, const char *key, const char *v, char *err, size_t errlen)
{
	struct net_config *n = obj;
	unsigned long num;

	if (!v)
		return reason(err, errlen, "--net: option '%s' needs a value", key);
	if (strcmp(key, "tap") == 0) {
		if (!*v || strlen(v) >= 16)
			return reason(err, errlen, "--net: tap=%s is not an interface name", v);
		free(n->tap);
		n->tap = strdup(v);
		if (!n->tap)
			return -ENOMEM;
	} else if (strcmp(key, "fd") == 0) {
		if (parse_uint(v, 0, 1 << 20, &num))
			return reason(err, errlen, "--net: fd=%s is not a file descriptor", v);
		n->fd = (int)num;
	} else if (strcmp(key, "mac") == 0) {
		if (parse_mac(v, n->mac))
			return reason(err, errlen, "--net: mac=%s is not a unicast MAC address", v);
		n->mac_set = true;
	} else if (strcmp(key, "queues") == 0) {
		if (parse_uint(v, 1, 64, &num))
			return reason(err, errlen, "--net: queues=%s is not a number from 1 to 64", v);
		n->queues = (unsigned int)num;
	} else if (strcmp(key, "rx_queue_size") == 0 || strcmp(key, "tx_queue_size") == 0) {
		if (parse_uint(v, NET_RING_MIN, NET_RING_MAX, &num) || (num & (num - 1)))
			return reason(err, errlen, "--net: %s=%s is not a power of two from %d to %d",
				      key, v, NET_RING_MIN, NET_RING_MAX);
		*(key[0] == 'r' ? &n->rx_ring : &n->tx_ring) = (unsigned int)num;
	} else {
		return reason(err, errlen, "--net: unknown option '%s'", key);
	}
	return 0;
}

int config_add_net(struct vm_config *cfg, const char *spec, char *err, size_t errlen)
{
	struct net_config n = { .fd = -1 };
	char *copy = strdup(spec), *first;
	int ret;

	if (!copy)
		return -ENOMEM;
	if (cfg->nr_nets == VM_MAX_NETS) {
		free(copy);
		return reason(err, errlen, "--net: at most %d network devices", VM_MAX_NETS);
	}
	ret = parse_kv(copy, &first, net_key, &n, err, errlen);
	if (!ret && first)
		ret = reason(err, errlen, "--net: '%s' is not key=value (try tap=NAME)", first);
	if (!ret && !n.tap == (n.fd < 0))
		ret = reason(err, errlen, "--net: give exactly one of tap=NAME and fd=N");
	if (!ret && n.fd >= 0 && n.queues > 1)
		ret = reason(err, errlen, "--net: fd=N is one TAP queue; queues=N needs tap=NAME");
	free(copy);
	if (ret) {
		free(n.tap);
		return ret;
	}
	cfg->nets[cfg->nr_nets++] = n;
	return 0;
}

static int share_key(void *obj, const char *key, const char *v, char *err, size_t errlen)
{
	struct share_config *s = obj;

	if (strcmp(key, "ro") == 0 && !v)
		s->readonly = true;
	else if (strcmp(key, "security") == 0 && v && strcmp(v, "passthrough") == 0)
		s->security = SHARE_PASSTHROUGH;
	else if (strcmp(key, "security") == 0 && v && strcmp(v, "mapped") == 0)
		s->security = SHARE_MAPPED;
	else
		return reason(err, errlen, "--share: unknown or malformed option '%s%s%s'", key,
			      v ? "=" : "", v ? v : "");
	return 0;
}

int config_add_share(struct vm_config *cfg, const char *spec, char *err, size_t errlen)
{
	struct share_config s = { .security = SHARE_PASSTHROUGH };
	char *copy = strdup(spec), *first, *colon;
	int ret;

	if (!copy)
		return -ENOMEM;
	if (cfg->nr_shares == VM_MAX_SHARES) {
		free(copy);
		return reason(err, errlen, "--share: at most %d shares", VM_MAX_SHARES);
	}
	ret = parse_kv(copy, &first, share_key, &s, err, errlen);
	colon = first ? strrchr(first, ':') : NULL;
	if (!ret && (!colon || colon == first || !colon[1]))
		ret = reason(err, errlen, "--share: '%s' is not HOSTDIR:TAG", spec);
	if (!ret && strlen(colon + 1) > SHARE_TAG_MAX)
		ret = reason(err, errlen, "--share: tag longer than %d characters", SHARE_TAG_MAX);
	if (!ret) {
		*colon = '\0';
		strcpy(s.tag, colon + 1);
		s.path = strdup(first);
		if (!s.path)
			ret = -ENOMEM;
	}
	for (unsigned int i = 0; !ret && i < cfg->nr_shares; i++)
		if (strcmp(cfg->shares[i].tag, s.tag) == 0)
			ret = reason(err, errlen, "--share: tag '%s' used twice", s.tag);
	free(copy);
	if (ret) {
		free(s.path);
		return ret;
	}
	cfg->shares[cfg->nr_shares++] = s;
	return 0;
}

static int balloon_key(void *obj, const char *key, const char *v, char *err, size_t errlen)
{
	struct balloon_config *b = obj;

	if (strcmp(key, "size") == 0 && v) {
		if (parse_size(v, 1ULL << 20, &b->size) || b->size > VM_MAX_MEM)
			return reason(err, errlen, "--balloon: size=%s is not a size up to 1T", v);
	} else if (strcmp(key, "deflate_on_oom") == 0) {
		if (!on_off(v, &b->deflate_on_oom))
			return reason(err, errlen, "--balloon: deflate_on_oom=%s is not on/off", v);
	} else if (strcmp(key, "free_page_reporting") == 0) {
		if (!on_off(v, &b->free_page_reporting))
			return reason(err, errlen, "--balloon: free_page_reporting=%s is not on/off", v);
	} else if (strcmp(key, "auto") == 0 && !v) {
		b->auto_size = true;
	} else if (strcmp(key, "margin") == 0 && v) {
		if (parse_size(v, 1ULL << 20, &b->auto_margin) || b->auto_margin > VM_MAX_MEM)
			return reason(err, errlen, "--balloon: margin=%s is not a size up to 1T", v);
	} else if ((strcmp(key, "step") == 0 || strcmp(key, "pressure") == 0) && v) {
		unsigned long n;

		if (parse_uint(v, 1, 100, &n))
			return reason(err, errlen, "--balloon: %s=%s is not a percentage from 1 to 100",
				      key, v);
		if (key[0] == 's')
			b->auto_step_pct = (unsigned int)n;
		else
			b->auto_pressure_pct = (unsigned int)n;
	} else {
		return reason(err, errlen, "--balloon: unknown or malformed option '%s%s%s'", key,
			      v ? "=" : "", v ? v : "");
	}
	return 0;
}

int config_set_balloon(struct vm_config *cfg, const char *spec, char *err, size_t errlen)
{
	struct balloon_config b = { .enabled = true, .deflate_on_oom = true,
				    .free_page_reporting = true };
	char *copy = strdup(spec), *first;
	int ret;

	if (!copy)
		return -ENOMEM;
	ret = parse_kv(copy, &first, balloon_key, &b, err, errlen);
	if (!ret && first) {
		if (strcmp(first, "auto") == 0)
			b.auto_size = true;
		else if (strcmp(first, "on") != 0)
			ret = reason(err, errlen, "--balloon: '%s' is not 'auto', 'on' or key=value", first);
	}
	free(copy);
	if (!ret)
		cfg->balloon = b;
	return ret;
}

int config_set_console(struct vm_config *cfg, const char *spec, char *err, size_t errlen)
{
	if (strcmp(spec, "serial") == 0)
		cfg->console = CONSOLE_SERIAL;
	else if (strcmp(spec, "virtio") == 0)
		cfg->console = CONSOLE_VIRTIO;
	else if (strcmp(spec, "socket") == 0)
		cfg->console = CONSOLE_SOCKET;
	else if (strcmp(spec, "none") == 0)
		cfg->console = CONSOLE_NONE;
	else
		return reason(err, errlen, "--console: '%s' is not serial, virtio, socket or none", spec);
	return 0;
}
