/* libFuzzer target: kernel and initrd image files as a user hands them over.
 *
 * The input's first byte picks the guest's RAM size and whether an initrd
 * (of a size from the next two bytes) goes with the kernel; the rest is the
 * kernel file.  It is probed as sardine's start-up does (bzImage setup
 * header or ELF with a PVH note), and what the probe accepts is loaded into
 * fresh guest memory by the loader the probe chose.  The files live in
 * memfds, reached through /proc/self/fd like any path.  A load that
 * succeeds must leave an entry point and boot information a guest can use:
 * checked below, so a loader that "succeeds" with nonsense fails here. */
#include <asm/bootparam.h>
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "arch/x86/layout.h"
#include "vmm/vm.h"

#define HVM_START_MAGIC 0x336ec578

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint64_t ram_sizes[] = { 2ULL << 20, 16ULL << 20, 64ULL << 20, 3ULL << 30 };

static int memfd_with(const char *name, const uint8_t *data, size_t len, char *path,
		      size_t pathlen)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	assert(fd >= 0);
	assert(write(fd, data, len) == (ssize_t)len);
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return fd;
}

static void check_bzimage_boot(struct vm *vm, const char *cmdline, bool has_initrd)
{
	const struct boot_params *bp = gm_ptr(&vm->mem, X86_ZERO_PAGE_ADDR, sizeof(*bp));
	const char *cl = gm_ptr(&vm->mem, X86_CMDLINE_ADDR, strlen(cmdline) + 1);

	assert(vm->arch.entry_mode == X86_ENTRY_LINUX64);
	assert(bp && cl && strcmp(cl, cmdline) == 0);
	assert(bp->hdr.cmd_line_ptr == X86_CMDLINE_ADDR);
	assert(vm->arch.entry == bp->hdr.code32_start + 0x200ULL);
	/* The kernel sits in RAM, above the boot structures. */
	assert(bp->hdr.code32_start >= X86_HIGH_MEM_ADDR);
	assert(gm_range_valid(&vm->mem, bp->hdr.code32_start, 0x200));
	assert(bp->e820_entries > 0 && bp->e820_entries <= E820_MAX_ENTRIES_ZEROPAGE);
	assert(bp->hdr.setup_data == 0);
	if (has_initrd)
		assert(gm_range_valid(&vm->mem, bp->hdr.ramdisk_image, bp->hdr.ramdisk_size));
	else
		assert(bp->hdr.ramdisk_image == 0 && bp->hdr.ramdisk_size == 0);
}

static void check_pvh_boot(struct vm *vm)
{
	uint32_t magic = 0;

	assert(vm->arch.entry_mode == X86_ENTRY_PVH32);
	assert(vm->arch.boot_info == X86_PVH_INFO_ADDR);
	assert(gm_read(&vm->mem, X86_PVH_INFO_ADDR, &magic, sizeof(magic)) == 0);
	assert(magic == HVM_START_MAGIC);
}

static void load_one(const char *kernel, const char *initrd, uint64_t ram)
{
	static const char cmdline[] = "console=ttyS0 panic=-1";
	struct guest_mem_layout l = { .ram_size = ram, .hole_start = X86_MMIO_HOLE_START,
				      .hole_end = X86_4G };
	struct x86_kernel_info info;
	struct vm *vm;

	if (x86_probe_kernel(kernel, &info))
		return;
	vm = calloc(1, sizeof(*vm));
	assert(vm && guest_mem_init(&vm->mem, &l) == 0);
	vm->arch.rsdp = X86_ACPI_ADDR;
	if (info.kind == X86_KERNEL_BZIMAGE) {
		if (x86_load_bzimage(vm, kernel, initrd, cmdline) == 0)
			check_bzimage_boot(vm, cmdline, initrd != NULL);
	} else if (x86_load_pvh(vm, kernel, initrd, cmdline) == 0) {
		check_pvh_boot(vm);
	}
	guest_mem_destroy(&vm->mem);
	free(vm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t initrd_bytes[65536];
	char kernel[64], initrd[64];
	size_t initrd_len = 0;
	int kfd, ifd = -1;
	uint8_t mode;

	if (size < 3)
		return 0;
	mode = data[0];
	if (mode & 4)
		initrd_len = ((size_t)data[1] << 8 | data[2]) % sizeof(initrd_bytes);
	kfd = memfd_with("kernel", data + 3, size - 3, kernel, sizeof(kernel));
	if (mode & 4)
		ifd = memfd_with("initrd", initrd_bytes, initrd_len, initrd, sizeof(initrd));
	load_one(kernel, ifd >= 0 ? initrd : NULL, ram_sizes[mode & 3]);
	close(kfd);
	if (ifd >= 0)
		close(ifd);
	return 0;
}
