#include "vmm/hostmem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return 0;
}

/* "MemAvailable:   123456 kB" -> bytes. */
static int meminfo_field(const char *text, const char *key, uint64_t *out)
{
	const char *p = strstr(text, key);

	if (!p)
		return -ENOENT;
	*out = strtoull(p + strlen(key), NULL, 10) * 1024;
	return 0;
}

/* "some avg10=1.23 avg60=..." -> 1.23 */
static double psi_some_avg10(const char *text)
{
	const char *p = strstr(text, "some avg10=");

	return p ? strtod(p + strlen("some avg10="), NULL) : 0.0;
}

/* The cgroup v2 path of this process ("0::/path" in /proc/self/cgroup). */
static int own_cgroup(const char *proc_root, char *path, size_t len)
{
	char buf[4096], file[256];
	char *p, *nl;

	snprintf(file, sizeof(file), "%s/self/cgroup", proc_root);
	if (read_text(file, buf, sizeof(buf)))
		return -ENOENT;
	p = strstr(buf, "0::");
	if (!p)
		return -ENOENT;
	p += 3;
	nl = strchr(p, '\n');
	if (nl)
		*nl = '\0';
	if (strlen(p) + 1 > len)
		return -ENAMETOOLONG;
	strcpy(path, p);
	return 0;
}

static void apply_cgroup(struct host_memory *out, const char *cgroup_root, const char *cg)
{
	char file[4352], buf[4096];
	uint64_t max, current;

	snprintf(file, sizeof(file), "%s%s/memory.max", cgroup_root, cg);
	if (read_text(file, buf, sizeof(buf)) || strncmp(buf, "max", 3) == 0)
		return; /* no limit here: the host's numbers stand */
	max = strtoull(buf, NULL, 10);
	snprintf(file, sizeof(file), "%s%s/memory.current", cgroup_root, cg);
	if (read_text(file, buf, sizeof(buf)))
		return;
	current = strtoull(buf, NULL, 10);
	if (max < out->total)
		out->total = max;
	if (max - (current < max ? current : max) < out->available)
		out->available = max - (current < max ? current : max);
	snprintf(file, sizeof(file), "%s%s/memory.pressure", cgroup_root, cg);
	if (!read_text(file, buf, sizeof(buf))) {
		double p = psi_some_avg10(buf);

		if (p > out->pressure_avg10)
			out->pressure_avg10 = p;
	}
}

int host_memory_read(struct host_memory *out, const char *proc_root, const char *cgroup_root)
{
	char buf[8192], file[256], cg[4096];
	int ret;

	memset(out, 0, sizeof(*out));
	snprintf(file, sizeof(file), "%s/meminfo", proc_root);
	ret = read_text(file, buf, sizeof(buf));
	if (ret)
		return ret;
	if (meminfo_field(buf, "MemTotal:", &out->total) ||
	    meminfo_field(buf, "MemAvailable:", &out->available))
		return -EINVAL;
	snprintf(file, sizeof(file), "%s/pressure/memory", proc_root);
	if (!read_text(file, buf, sizeof(buf)))
		out->pressure_avg10 = psi_some_avg10(buf);
	if (!own_cgroup(proc_root, cg, sizeof(cg)))
		apply_cgroup(out, cgroup_root, cg);
	return 0;
}
