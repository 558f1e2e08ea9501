/* The configuration of one VM, as given by the command line or a VmConfig
 * JSON document.  Plain data: it is copied, serialised and fed back. */
#ifndef SARDINE_CONFIG_H
#define SARDINE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define VM_MAX_CPUS 254 /* xAPIC IDs 0..254, 255 is broadcast */
#define VM_MIN_MEM (32ULL << 20)
#define VM_MAX_MEM (1ULL << 40)
#define VM_NAME_MAX 64

enum console_mode { CONSOLE_SERIAL, CONSOLE_VIRTIO };

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
};

void config_init_defaults(struct vm_config *cfg);
void config_free(struct vm_config *cfg);

/* "256M", "4G", "65536K", "1T"; a bare number is taken in default_unit
 * bytes.  Returns -EINVAL on junk, -ERANGE on overflow. */
int parse_size(const char *s, uint64_t default_unit, uint64_t *out);
/* Decimal unsigned integer in [min, max]. */
int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

#endif
