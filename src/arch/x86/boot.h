/* Guest loaders: the Linux x86 boot protocol (bzImage, 64-bit entry) and
 * PVH (an ELF with a XEN_ELFNOTE_PHYS32_ENTRY note, 32-bit entry), plus the
 * e820 map both describe memory with. */
#ifndef SARDINE_X86_BOOT_H
#define SARDINE_X86_BOOT_H

#include <asm/bootparam.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

struct vm;

enum x86_kernel_kind { X86_KERNEL_BZIMAGE, X86_KERNEL_PVH_ELF };

/* What probing the kernel file found out, before any VM exists. */
struct x86_kernel_info {
	enum x86_kernel_kind kind;
	uint16_t boot_version; /* bzImage only */
	uint32_t cmdline_max;  /* longest command line the kernel accepts */
	bool is_linux;         /* a Linux kernel (not a tiny test guest) */
};

/* User-facing checks: each logs one clear line and returns -errno. */
int x86_probe_kernel(const char *path, struct x86_kernel_info *info);
int x86_probe_initrd(const char *path);
/* PVH part of the probe: the ELF has a PVH entry note. */
int x86_probe_pvh(const char *path, bool *is_linux);

/* The e820 map for this memory layout; returns the number of entries. */
unsigned int x86_build_e820(const struct guest_mem *gm, struct boot_e820_entry *tbl,
			    unsigned int max);

/* Loaders: fill vm->arch (entry point, boot info) and guest memory. */
int x86_load_bzimage(struct vm *vm, const char *kernel, const char *initrd, const char *cmdline);
int x86_load_pvh(struct vm *vm, const char *kernel, const char *initrd, const char *cmdline);

/* Reads the initrd to the highest page-aligned spot in [min, max_end). */
int x86_load_initrd(const struct guest_mem *gm, const char *path, uint64_t min, uint64_t max_end,
		    uint64_t *gpa, uint64_t *size);

#endif
