#define LOG_TAG "boot"
#include "arch/x86/boot.h"

#include <asm/e820.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define SETUP_HDR_OFFSET 0x1f1
#define BOOT_FLAG 0xaa55
#define HDRS_MAGIC 0x53726448 /* "HdrS" */
#define MIN_BOOT_VERSION 0x020c /* xloadflags: 64-bit entry */
#define LOADFLAG_CAN_USE_HEAP 0x80
#define LINUX_COMMAND_LINE_SIZE 2048
#define ELF_MAGIC "\177ELF"

/* The first sectors of a bzImage: boot sector and real-mode setup header. */
struct bzimage_head {
	uint8_t bytes[SETUP_HDR_OFFSET + sizeof(struct setup_header)];
};

static int read_head(const char *path, struct bzimage_head *head, uint64_t *file_size)
{
	struct stat st;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		log_error("cannot open kernel %s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_error("kernel %s is not a regular file", path);
		ret = -EINVAL;
		goto out;
	}
	*file_size = (uint64_t)st.st_size;
	memset(head, 0, sizeof(*head));
	n = pread(fd, head->bytes, sizeof(head->bytes), 0);
	if (n < 0) {
		ret = -errno;
		log_error("cannot read kernel %s: %s", path, strerror(errno));
	}
out:
	close(fd);
	return ret;
}

static const struct setup_header *setup_header_of(const struct bzimage_head *head)
{
	return (const struct setup_header *)(head->bytes + SETUP_HDR_OFFSET);
}

int x86_probe_kernel(const char *path, struct x86_kernel_info *info)
{
	struct bzimage_head head;
	const struct setup_header *hdr;
	uint64_t size;
	int ret;

	ret = read_head(path, &head, &size);
	if (ret)
		return ret;
	memset(info, 0, sizeof(*info));
	if (memcmp(head.bytes, ELF_MAGIC, 4) == 0) {
		info->kind = X86_KERNEL_PVH_ELF;
		info->cmdline_max = LINUX_COMMAND_LINE_SIZE - 1;
		return x86_probe_pvh(path, &info->is_linux);
	}
	hdr = setup_header_of(&head);
	if (size < sizeof(head.bytes) || hdr->boot_flag != BOOT_FLAG || hdr->header != HDRS_MAGIC) {
		log_error("%s is not a Linux kernel (no bzImage setup header, no ELF)", path);
		return -ENOEXEC;
	}
	if (hdr->version < MIN_BOOT_VERSION || !(hdr->xloadflags & XLF_KERNEL_64)) {
		log_error("kernel %s (boot protocol %u.%02u) has no 64-bit entry point", path,
			  hdr->version >> 8, hdr->version & 0xff);
		return -ENOEXEC;
	}
	info->kind = X86_KERNEL_BZIMAGE;
	info->is_linux = true;
	info->boot_version = hdr->version;
	info->cmdline_max = hdr->cmdline_size ? hdr->cmdline_size : LINUX_COMMAND_LINE_SIZE - 1;
	return 0;
}

int x86_probe_initrd(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		log_error("cannot open initrd %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		log_error("initrd %s is not a regular file", path);
		return -EINVAL;
	}
	if (access(path, R_OK) < 0) {
		log_error("cannot read initrd %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

unsigned int x86_build_e820(const struct guest_mem *gm, struct boot_e820_entry *tbl,
			    unsigned int max)
{
	unsigned int n = 0;

#define ADD(a, s, t)                                                                   \
	do {                                                                           \
		if (n < max)                                                           \
			tbl[n++] = (struct boot_e820_entry){ .addr = (a), .size = (s), .type = (t) }; \
	} while (0)

	/* Low memory below the EBDA; the legacy area up to 1 MiB, which holds
	 * the ACPI tables, is reserved. */
	ADD(0, X86_EBDA_ADDR, E820_RAM);
	ADD(X86_EBDA_ADDR, X86_HIGH_MEM_ADDR - X86_EBDA_ADDR, E820_RESERVED);
	ADD(X86_HIGH_MEM_ADDR, gm->region[0].size - X86_HIGH_MEM_ADDR, E820_RAM);
	/* ECAM must be reserved in e820 or Linux refuses MMCONFIG. */
	ADD(X86_PCI_ECAM_BASE, X86_PCI_ECAM_SIZE, E820_RESERVED);
	for (unsigned int i = 1; i < gm->nr_regions; i++)
		ADD(gm->region[i].gpa, gm->region[i].size, E820_RAM);
#undef ADD
	return n;
}

int x86_load_initrd(const struct guest_mem *gm, const char *path, uint64_t min, uint64_t max_end,
		    uint64_t *gpa, uint64_t *size)
{
	struct stat st;
	uint64_t addr;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		log_error("cannot open initrd %s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	*size = (uint64_t)st.st_size;
	if (*size > max_end || max_end - *size < min) {
		log_error("initrd %s (%llu MiB) does not fit in guest memory", path,
			  (unsigned long long)(*size >> 20));
		ret = -EFBIG;
		goto out;
	}
	addr = (max_end - *size) & ~0xfffULL;
	if (addr < min) {
		log_error("initrd %s does not fit in guest memory", path);
		ret = -EFBIG;
		goto out;
	}
	ret = gm_load_file(gm, fd, 0, addr, *size);
	if (ret)
		log_error("cannot read initrd %s: %s", path, strerror(-ret));
	*gpa = addr;
out:
	close(fd);
	return ret;
}

static int write_cmdline(struct vm *vm, const char *cmdline, uint64_t max)
{
	size_t len = strlen(cmdline) + 1;

	if (len > max || len > X86_CMDLINE_MAX) {
		log_error("kernel command line is %zu bytes, the kernel takes at most %llu", len - 1,
			  (unsigned long long)max - 1);
		return -E2BIG;
	}
	return gm_write(&vm->mem, X86_CMDLINE_ADDR, cmdline, len);
}

/* Where the protected-mode kernel goes: its preferred address when that is
 * above 1 MiB and the kernel fits there, else the lowest aligned address
 * above 1 MiB (it is relocatable).  `need`: the bytes it occupies from
 * there. */
static int choose_load_addr(const struct guest_mem *gm, const struct setup_header *hdr,
			    uint64_t need, uint64_t *addr)
{
	uint64_t low_end = gm->region[0].size;
	uint64_t pref = hdr->pref_address;
	uint64_t align = hdr->kernel_alignment;

	if (low_end < X86_HIGH_MEM_ADDR || need > low_end - X86_HIGH_MEM_ADDR)
		return -ENOSPC;
	if (pref >= X86_HIGH_MEM_ADDR && pref <= low_end - need) {
		*addr = pref;
		return 0;
	}
	if (!hdr->relocatable_kernel)
		return pref < X86_HIGH_MEM_ADDR ? -ENOEXEC : -ENOSPC;
	/* The protocol's alignment is a power of two; for anything else take
	 * the 2 MiB every x86-64 kernel uses. */
	if (align < 4096 || (align & (align - 1)) || align > low_end)
		align = 0x200000;
	*addr = (X86_HIGH_MEM_ADDR + align - 1) & ~(align - 1);
	return *addr <= low_end - need ? 0 : -ENOSPC;
}

int x86_load_bzimage(struct vm *vm, const char *kernel, const char *initrd, const char *cmdline)
{
	struct boot_params *bp = gm_ptr(&vm->mem, X86_ZERO_PAGE_ADDR, sizeof(*bp));
	const struct setup_header *hdr;
	struct bzimage_head head;
	uint64_t file_size, setup_size, load_addr, hdr_len, need;
	int fd, ret;

	ret = read_head(kernel, &head, &file_size);
	if (ret)
		return ret;
	hdr = setup_header_of(&head);
	setup_size = (uint64_t)((hdr->setup_sects ? hdr->setup_sects : 4) + 1) * 512;
	if (setup_size >= file_size) {
		log_error("kernel %s ends inside its own setup code", kernel);
		return -ENOEXEC;
	}
	/* init_size, or the payload itself if a broken header says less. */
	need = file_size - setup_size;
	if (hdr->init_size > need)
		need = hdr->init_size;
	ret = choose_load_addr(&vm->mem, hdr, need, &load_addr);
	if (ret == -ENOEXEC) {
		log_error("kernel %s is not relocatable and asks to be loaded below 1 MiB", kernel);
		return ret;
	}
	if (ret) {
		log_error("kernel needs %llu MiB above its load address: give the guest more memory",
			  (unsigned long long)need >> 20);
		return ret;
	}
	fd = open(kernel, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		log_error("cannot open kernel %s: %s", kernel, strerror(errno));
		return ret;
	}
	ret = gm_load_file(&vm->mem, fd, setup_size, load_addr, file_size - setup_size);
	close(fd);
	if (ret) {
		log_error("cannot load kernel %s: %s", kernel, strerror(-ret));
		return ret;
	}

	/* The zero page: the kernel's own setup header, then our answers. */
	memset(bp, 0, sizeof(*bp));
	hdr_len = 0x202 + (head.bytes[0x201]) - SETUP_HDR_OFFSET;
	if (hdr_len > sizeof(bp->hdr))
		hdr_len = sizeof(bp->hdr);
	memcpy(&bp->hdr, hdr, hdr_len);
	/* Fields the boot loader owns: a file's own values there are garbage
	 * the kernel would follow (an initrd or a setup_data list that is not
	 * there). */
	bp->hdr.ramdisk_image = 0;
	bp->hdr.ramdisk_size = 0;
	bp->hdr.setup_data = 0;
	bp->hdr.type_of_loader = 0xff;
	bp->hdr.loadflags |= LOADFLAG_CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.code32_start = (uint32_t)load_addr;
	bp->hdr.cmd_line_ptr = (uint32_t)X86_CMDLINE_ADDR;
	/* 0 is a broken header (the field exists since 2.06): as the probe. */
	ret = write_cmdline(vm, cmdline,
			    (hdr->cmdline_size ? hdr->cmdline_size : LINUX_COMMAND_LINE_SIZE - 1) + 1ULL);
	if (ret)
		return ret;
	if (initrd) {
		uint64_t gpa, size, max_end = vm->mem.region[0].size;

		if (hdr->initrd_addr_max && hdr->initrd_addr_max + 1ULL < max_end)
			max_end = hdr->initrd_addr_max + 1ULL;
		ret = x86_load_initrd(&vm->mem, initrd, load_addr + hdr->init_size, max_end, &gpa,
				      &size);
		if (ret)
			return ret;
		bp->hdr.ramdisk_image = (uint32_t)gpa;
		bp->hdr.ramdisk_size = (uint32_t)size;
		bp->ext_ramdisk_image = (uint32_t)(gpa >> 32);
		bp->ext_ramdisk_size = (uint32_t)(size >> 32);
	}
	bp->e820_entries = (uint8_t)x86_build_e820(&vm->mem, bp->e820_table,
						   E820_MAX_ENTRIES_ZEROPAGE);
	bp->acpi_rsdp_addr = vm->arch.rsdp;

	vm->arch.entry_mode = X86_ENTRY_LINUX64;
	vm->arch.entry = load_addr + 0x200; /* startup_64 */
	vm->arch.boot_info = X86_ZERO_PAGE_ADDR;
	return 0;
}
