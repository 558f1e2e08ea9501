/* File system confinement with Landlock (Linux 5.13+, used from ABI 2,
 * 5.19): once sardine knows its VM's files, the process may open only
 * those: the kernel and initramfs (read, for a guest reboot), the disk
 * images, the shared directories (read-only ones read-only), /dev/kvm and
 * /dev/net/tun, its own /proc entries, the host memory figures of
 * --balloon auto, the directory of its sockets, and the system's libraries
 * (read).  Descriptors already open are not affected: this is about a
 * device thread taken over by the guest opening something new.  With ABI
 * 4 (6.7) TCP bind and connect are refused as well: sardine uses neither;
 * with ABI 6 (6.12) signals to processes outside the domain and abstract
 * Unix sockets of other processes too.
 *
 * Unlike the seccomp filter, a Landlock domain binds only the thread that
 * enters it and threads created after: sardine enters it before it starts
 * any thread where it can (sardine run), and `sardine serve` at its first
 * vm.boot, from the VM's configuration, while the control thread (which
 * serves the API too) is its only thread (a later vm.create naming other
 * files is refused with EACCES). */
#ifndef SARDINE_LANDLOCK_H
#define SARDINE_LANDLOCK_H

#include <stddef.h>
#include <stdint.h>

struct vm_config;

enum landlock_mode {
	LANDLOCK_AUTO, /* confine where the kernel can (the default) */
	LANDLOCK_ON,   /* confine, or refuse to run */
	LANDLOCK_OFF,
};

/* "auto", "on" or "off"; -EINVAL otherwise. */
int landlock_parse_mode(const char *text, enum landlock_mode *out);
const char *landlock_mode_name(enum landlock_mode mode);

/* The kernel's Landlock ABI version, or -errno (-EOPNOTSUPP: built in but
 * disabled at boot; -ENOSYS: not built). */
int landlock_abi(void);

/* Rights for landlock_rules_add: what sardine may do at and below a path. */
#define LL_READ  (1u << 0) /* read files, list directories */
#define LL_WRITE (1u << 1) /* write and truncate files */
#define LL_TREE  (1u << 2) /* create, remove, rename, link below a directory */
#define LL_DEV   (1u << 3) /* ioctls on a device (ABI 5) */
#define LL_EXEC  (1u << 4) /* map as executable code (libraries) */
#define LL_SOCK  (1u << 5) /* create and remove sockets in a directory */

struct landlock_rules {
	int fd;  /* the ruleset */
	int abi;
};

/* A ruleset that refuses every file access the kernel's ABI can name. */
int landlock_rules_init(struct landlock_rules *r);
/* Allows `rights` at and below path.  -ENOENT where path does not exist
 * (the caller decides whether that matters). */
int landlock_rules_add(struct landlock_rules *r, const char *path, unsigned int rights);
/* Binds the calling thread (and those it starts) to the rules. */
int landlock_rules_enforce(struct landlock_rules *r);
void landlock_rules_free(struct landlock_rules *r);

/* The policy for a VM: builds the rules from cfg and sock_path (the API
 * socket's path, or "") and enforces them, as mode says.  Returns 0
 * (*confined_abi: the ABI, 0 where auto found no usable Landlock) or
 * -errno with err saying why in one line. */
int landlock_confine(const struct vm_config *cfg, const char *sock_path, enum landlock_mode mode,
		     int *confined_abi, char *err, size_t errlen);

#endif
