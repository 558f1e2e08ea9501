#define LOG_TAG "landlock"
#include "vmm/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stddef.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/config.h"
#include "vmm/log.h"

/* Rights of ABIs newer than the build's <linux/landlock.h> (Debian 12's
 * is 6.1's, ABI 2); the kernel says at run time which it knows. */
#define FS_TRUNCATE (1ULL << 14)  /* ABI 3 */
#define FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#define NET_BIND_TCP (1ULL << 0)  /* ABI 4 */
#define NET_CONNECT_TCP (1ULL << 1)
#define SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define SCOPE_SIGNAL (1ULL << 1)

#define FS_ABI1 ((1ULL << 13) - 1) /* EXECUTE .. MAKE_SYM */
#define FS_FILE_RIGHTS                                                                      \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                       \
	 LANDLOCK_ACCESS_FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV)

/* The ruleset attribute as ABI 6 lays it out; older kernels are given
 * only the fields they know (they refuse a longer one with E2BIG). */
struct ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

int landlock_parse_mode(const char *text, enum landlock_mode *out)
{
	if (strcmp(text, "auto") == 0)
		*out = LANDLOCK_AUTO;
	else if (strcmp(text, "on") == 0)
		*out = LANDLOCK_ON;
	else if (strcmp(text, "off") == 0)
		*out = LANDLOCK_OFF;
	else
		return -EINVAL;
	return 0;
}

const char *landlock_mode_name(enum landlock_mode mode)
{
	return mode == LANDLOCK_ON ? "on" : mode == LANDLOCK_OFF ? "off" : "auto";
}

int landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 0 ? -errno : (int)abi;
}

static uint64_t handled_fs(int abi)
{
	uint64_t fs = FS_ABI1;

	if (abi >= 2)
		fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		fs |= FS_TRUNCATE;
	if (abi >= 5)
		fs |= FS_IOCTL_DEV;
	return fs;
}

int landlock_rules_init(struct landlock_rules *r)
{
	struct ruleset_attr attr = { 0 };
	size_t size = sizeof(attr.handled_access_fs);
	long fd;

	r->fd = -1;
	r->abi = landlock_abi();
	if (r->abi < 0)
		return r->abi;
	attr.handled_access_fs = handled_fs(r->abi);
	if (r->abi >= 4) { /* no rule allows any port: no TCP at all */
		attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP;
		size = offsetof(struct ruleset_attr, scoped);
	}
	/* Signals and abstract Unix sockets only within the domain: sardine
	 * signals its own threads (all started inside it) and has no use for
	 * other processes' abstract sockets. */
	if (r->abi >= 6) {
		attr.scoped = SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	fd = syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (fd < 0)
		return -errno;
	r->fd = (int)fd;
	return 0;
}

static uint64_t fs_rights(unsigned int rights)
{
	uint64_t fs = 0;

	if (rights & LL_READ)
		fs |= LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	if (rights & LL_WRITE)
		fs |= LANDLOCK_ACCESS_FS_WRITE_FILE | FS_TRUNCATE;
	if (rights & LL_TREE)
		fs |= LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
		      LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
		      LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
		      LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		      LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER;
	if (rights & LL_DEV)
		fs |= FS_IOCTL_DEV;
	if (rights & LL_EXEC)
		fs |= LANDLOCK_ACCESS_FS_EXECUTE;
	if (rights & LL_SOCK)
		fs |= LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_REMOVE_FILE;
	return fs;
}

int landlock_rules_add(struct landlock_rules *r, const char *path, unsigned int rights)
{
	struct landlock_path_beneath_attr rule = { 0 };
	struct stat st;
	int fd, ret = 0;

	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	/* The kernel refuses directory rights on a file. */
	rule.allowed_access = fs_rights(rights) & handled_fs(r->abi);
	if (!S_ISDIR(st.st_mode))
		rule.allowed_access &= FS_FILE_RIGHTS;
	rule.parent_fd = fd;
	if (rule.allowed_access &&
	    syscall(SYS_landlock_add_rule, r->fd, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) < 0)
		ret = -errno;
out:
	close(fd);
	return ret;
}

int landlock_rules_enforce(struct landlock_rules *r)
{
	/* Required of an unprivileged thread; the seccomp filter sets it too. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(SYS_landlock_restrict_self, r->fd, 0) < 0)
		return -errno;
	return 0;
}

void landlock_rules_free(struct landlock_rules *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

/* ---- the policy for a VM */

struct grant {
	const char *path;
	unsigned int rights;
	bool required; /* a missing path is an error, not skipped */
};

/* What every VM may reach besides its own files.  /proc/self is its own
 * /proc/PID (vm.counters, the 9P server's reopen through /proc/self/fd
 * is checked against the file reached); meminfo, PSI and the cgroup tree
 * are what --balloon auto reads; the libraries are for what is loaded
 * late: libmicrohttpd at the API's first client, libgcc_s when glibc
 * unwinds a thread (and LD_LIBRARY_PATH's directories, see below). */
static const struct grant host_grants[] = {
	{ "/dev/kvm", LL_READ | LL_WRITE | LL_DEV, false },
	{ "/proc/self", LL_READ, true },
	{ "/proc/meminfo", LL_READ, false },
	{ "/proc/pressure", LL_READ, false },
	{ "/sys/fs/cgroup", LL_READ, false },
	{ "/usr/lib", LL_READ | LL_EXEC, false },
	{ "/lib", LL_READ | LL_EXEC, false },
	{ "/lib64", LL_READ | LL_EXEC, false },
	{ "/usr/local/lib", LL_READ | LL_EXEC, false },
};

static int grant(struct landlock_rules *r, const struct grant *g, char *err, size_t errlen)
{
	int ret = landlock_rules_add(r, g->path, g->rights);

	/* An optional path that is missing or out of reach has nothing to
	 * allow. */
	if (ret && !g->required)
		return 0;
	if (ret)
		snprintf(err, errlen, "cannot allow %s: %s", g->path, strerror(-ret));
	return ret;
}

/* The dynamic loader searches LD_LIBRARY_PATH first for a library loaded
 * late: its directories stay readable, as they were at start. */
static int grant_library_path(struct landlock_rules *r, char *err, size_t errlen)
{
	const char *env = getenv("LD_LIBRARY_PATH");
	char *copy, *dir, *save = NULL;
	int ret = 0;

	if (!env || !env[0])
		return 0;
	copy = strdup(env);
	if (!copy)
		return -ENOMEM;
	for (dir = strtok_r(copy, ":;", &save); dir && !ret; dir = strtok_r(NULL, ":;", &save)) {
		struct grant g = { dir, LL_READ | LL_EXEC, false };

		ret = grant(r, &g, err, errlen);
	}
	free(copy);
	return ret;
}

static int add_vm_rules(struct landlock_rules *r, const struct vm_config *cfg,
			const char *sock_path, char *err, size_t errlen)
{
	struct grant g[VM_MAX_DISKS + VM_MAX_SHARES + 4];
	char sock_dir[4096];
	unsigned int n = 0, i;
	int ret;

	g[n++] = (struct grant){ cfg->kernel, LL_READ, true };
	if (cfg->initrd)
		g[n++] = (struct grant){ cfg->initrd, LL_READ, true };
	for (i = 0; i < cfg->nr_disks; i++)
		g[n++] = (struct grant){ cfg->disks[i].path,
					 LL_READ | LL_DEV | (cfg->disks[i].readonly ? 0 : LL_WRITE), true };
	for (i = 0; i < cfg->nr_shares; i++)
		g[n++] = (struct grant){ cfg->shares[i].path,
					 LL_READ | (cfg->shares[i].readonly ? 0 : LL_WRITE | LL_TREE), true };
	if (cfg->nr_nets)
		g[n++] = (struct grant){ "/dev/net/tun", LL_READ | LL_WRITE | LL_DEV, false };
	/* The API and console sockets: made at boot, removed at exit. */
	if (sock_path && sock_path[0] && strlen(sock_path) < sizeof(sock_dir)) {
		strcpy(sock_dir, sock_path);
		g[n++] = (struct grant){ dirname(sock_dir), LL_SOCK, true };
	}
	for (i = 0; i < n; i++) {
		ret = grant(r, &g[i], err, errlen);
		if (ret)
			return ret;
	}
	for (i = 0; i < sizeof(host_grants) / sizeof(host_grants[0]); i++) {
		ret = grant(r, &host_grants[i], err, errlen);
		if (ret)
			return ret;
	}
	return grant_library_path(r, err, errlen);
}

int landlock_confine(const struct vm_config *cfg, const char *sock_path, enum landlock_mode mode,
		     int *confined_abi, char *err, size_t errlen)
{
	struct landlock_rules r;
	int ret;

	*confined_abi = 0;
	if (mode == LANDLOCK_OFF)
		return 0;
	ret = landlock_rules_init(&r);
	/* ABI 1 refuses every rename or link across directories, whatever
	 * the rules: a writable share would break. */
	if (!ret && r.abi < 2)
		ret = -EOPNOTSUPP;
	if (ret) {
		const char *why = ret == -EOPNOTSUPP ? "off at boot, or ABI 1" : strerror(-ret);

		landlock_rules_free(&r);
		if (mode == LANDLOCK_AUTO) {
			log_info("not confined: this kernel has no usable Landlock (%s)", why);
			return 0;
		}
		snprintf(err, errlen, "--landlock on: this kernel has no usable Landlock (%s)", why);
		return ret;
	}
	ret = add_vm_rules(&r, cfg, sock_path, err, errlen);
	if (!ret) {
		ret = landlock_rules_enforce(&r);
		if (ret)
			snprintf(err, errlen, "cannot enter the Landlock domain: %s", strerror(-ret));
	}
	if (!ret)
		*confined_abi = r.abi;
	landlock_rules_free(&r);
	return ret;
}
