#define LOG_TAG "pvh"
/* PVH boot: an ELF kernel (Linux vmlinux, or one of sardine's tiny test
 * guests) that names a 32-bit entry point in a XEN_ELFNOTE_PHYS32_ENTRY
 * note.  It starts in flat 32-bit protected mode with paging off and EBX
 * pointing at a struct hvm_start_info. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "arch/x86/layout.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578
#define HVM_MEMMAP_TYPE_RAM 1
#define HVM_MEMMAP_TYPE_RESERVED 2
#define PVH_MAX_PHDRS 64
#define PVH_MAX_NOTE 4096
#define LINUX_CMDLINE_MAX_PVH 2048
#define PVH_MODLIST_ADDR 0x6f00ULL
#define PVH_MAX_MEMMAP ((PVH_MODLIST_ADDR - X86_PVH_MEMMAP_ADDR) / sizeof(struct hvm_memmap_entry))

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

/* Program headers of a 32- or 64-bit ELF, widened to 64 bits. */
struct elf_image {
	int fd;
	uint64_t file_size;
	unsigned int nr_phdrs;
	Elf64_Phdr phdr[PVH_MAX_PHDRS];
};

static int read_exact(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(fd, buf, len, (off_t)off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -ENOEXEC;
}

static int read_phdrs(struct elf_image *img)
{
	unsigned char ident[EI_NIDENT];
	uint64_t phoff;
	unsigned int phnum, phentsize;
	bool is64;

	if (read_exact(img->fd, ident, sizeof(ident), 0) || ident[EI_DATA] != ELFDATA2LSB)
		return -ENOEXEC;
	is64 = ident[EI_CLASS] == ELFCLASS64;
	if (is64) {
		Elf64_Ehdr eh;

		if (read_exact(img->fd, &eh, sizeof(eh), 0) || eh.e_machine != EM_X86_64)
			return -ENOEXEC;
		phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize;
	} else {
		Elf32_Ehdr eh;

		if (ident[EI_CLASS] != ELFCLASS32 || read_exact(img->fd, &eh, sizeof(eh), 0) ||
		    eh.e_machine != EM_386)
			return -ENOEXEC;
		phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize;
	}
	if (phnum == 0 || phnum > PVH_MAX_PHDRS ||
	    phentsize != (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)))
		return -ENOEXEC;
	for (unsigned int i = 0; i < phnum; i++) {
		Elf64_Phdr *p = &img->phdr[i];
		uint64_t at = phoff + (uint64_t)i * phentsize;

		if (is64) {
			if (read_exact(img->fd, p, sizeof(*p), at))
				return -ENOEXEC;
		} else {
			Elf32_Phdr q;

			if (read_exact(img->fd, &q, sizeof(q), at))
				return -ENOEXEC;
			*p = (Elf64_Phdr){ .p_type = q.p_type, .p_offset = q.p_offset,
					   .p_paddr = q.p_paddr, .p_filesz = q.p_filesz,
					   .p_memsz = q.p_memsz };
		}
		if (p->p_offset > img->file_size || p->p_filesz > img->file_size - p->p_offset ||
		    p->p_filesz > p->p_memsz)
			return -ENOEXEC;
	}
	img->nr_phdrs = phnum;
	return 0;
}

/* Walks the notes of one PT_NOTE segment for the PVH entry; notes named
 * "Linux" (build salt and friends) tell a Linux vmlinux. */
static bool find_entry_in_note(const uint8_t *buf, uint64_t len, uint64_t *entry,
			       bool *is_linux)
{
	uint64_t off = 0;
	bool found = false;

	while (len - off >= 12) {
		uint32_t namesz, descsz, type;
		uint64_t name_off, desc_off, next;

		memcpy(&namesz, buf + off, 4);
		memcpy(&descsz, buf + off + 4, 4);
		memcpy(&type, buf + off + 8, 4);
		name_off = off + 12;
		desc_off = name_off + (((uint64_t)namesz + 3) & ~3ULL);
		next = desc_off + (((uint64_t)descsz + 3) & ~3ULL);
		if (next > len)
			return false;
		if (namesz == 6 && memcmp(buf + name_off, "Linux", 6) == 0)
			*is_linux = true;
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
		    memcmp(buf + name_off, "Xen", 4) == 0 && (descsz == 4 || descsz == 8)) {
			uint64_t e = 0;

			memcpy(&e, buf + desc_off, descsz);
			*entry = descsz == 4 ? (uint32_t)e : e;
			found = true;
		}
		off = next;
	}
	return found;
}

static int find_pvh_entry(const struct elf_image *img, uint64_t *entry, bool *is_linux)
{
	uint8_t buf[PVH_MAX_NOTE];
	bool found = false;

	for (unsigned int i = 0; i < img->nr_phdrs; i++) {
		const Elf64_Phdr *p = &img->phdr[i];

		if (p->p_type != PT_NOTE || p->p_filesz > sizeof(buf))
			continue;
		if (read_exact(img->fd, buf, p->p_filesz, p->p_offset))
			return -ENOEXEC;
		found |= find_entry_in_note(buf, p->p_filesz, entry, is_linux);
	}
	return found ? 0 : -ENOEXEC;
}

static int open_elf(const char *path, struct elf_image *img)
{
	struct stat st;

	img->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (img->fd < 0 || fstat(img->fd, &st) < 0) {
		log_error("cannot open kernel %s: %s", path, strerror(errno));
		return -errno;
	}
	img->file_size = (uint64_t)st.st_size;
	return 0;
}

int x86_probe_pvh(const char *path, bool *is_linux)
{
	struct elf_image *img = calloc(1, sizeof(*img));
	uint64_t entry;
	int ret;

	if (!img)
		return -ENOMEM;
	*is_linux = false;
	ret = open_elf(path, img);
	if (!ret) {
		ret = read_phdrs(img);
		if (!ret)
			ret = find_pvh_entry(img, &entry, is_linux);
		if (ret)
			log_error("%s is an ELF file without a PVH entry point note", path);
	}
	if (img->fd >= 0)
		close(img->fd);
	free(img);
	return ret;
}

static int load_segments(struct vm *vm, const struct elf_image *img, uint64_t *end)
{
	*end = 0;
	for (unsigned int i = 0; i < img->nr_phdrs; i++) {
		const Elf64_Phdr *p = &img->phdr[i];
		int ret;

		if (p->p_type != PT_LOAD)
			continue;
		if (!gm_range_valid(&vm->mem, p->p_paddr, p->p_memsz) ||
		    p->p_paddr < X86_HIGH_MEM_ADDR)
			return -ERANGE;
		ret = gm_load_file(&vm->mem, img->fd, p->p_offset, p->p_paddr, p->p_filesz);
		if (ret)
			return ret;
		/* The rest up to p_memsz (.bss) is zero already: guest RAM is
		 * fresh when the kernel is loaded (see gm_load_file). */
		if (p->p_paddr + p->p_memsz > *end)
			*end = p->p_paddr + p->p_memsz;
	}
	return *end ? 0 : -ENOEXEC;
}

static int write_start_info(struct vm *vm, uint64_t initrd_gpa, uint64_t initrd_size)
{
	struct boot_e820_entry e820[16];
	struct hvm_memmap_entry map[16];
	struct hvm_start_info info = {
		.magic = HVM_START_MAGIC,
		.version = 1,
		.cmdline_paddr = X86_CMDLINE_ADDR,
		.rsdp_paddr = vm->arch.rsdp,
		.memmap_paddr = X86_PVH_MEMMAP_ADDR,
	};
	unsigned int n = x86_build_e820(&vm->mem, e820, 16);
	int ret;

	if (n > PVH_MAX_MEMMAP)
		n = PVH_MAX_MEMMAP;
	for (unsigned int i = 0; i < n; i++)
		map[i] = (struct hvm_memmap_entry){ .addr = e820[i].addr, .size = e820[i].size,
						    .type = e820[i].type };
	info.memmap_entries = n;
	ret = gm_write(&vm->mem, X86_PVH_MEMMAP_ADDR, map, n * sizeof(map[0]));
	if (ret)
		return ret;
	if (initrd_size) {
		struct hvm_modlist_entry mod = { .paddr = initrd_gpa, .size = initrd_size };

		ret = gm_write(&vm->mem, PVH_MODLIST_ADDR, &mod, sizeof(mod));
		if (ret)
			return ret;
		info.nr_modules = 1;
		info.modlist_paddr = PVH_MODLIST_ADDR;
	}
	return gm_write(&vm->mem, X86_PVH_INFO_ADDR, &info, sizeof(info));
}

int x86_load_pvh(struct vm *vm, const char *kernel, const char *initrd, const char *cmdline)
{
	struct elf_image *img = calloc(1, sizeof(*img));
	uint64_t entry = 0, end, initrd_gpa = 0, initrd_size = 0;
	size_t cmdline_len = strlen(cmdline) + 1;
	bool is_linux;
	int ret;

	if (!img)
		return -ENOMEM;
	ret = open_elf(kernel, img);
	if (ret)
		goto out;
	ret = read_phdrs(img);
	if (!ret)
		ret = find_pvh_entry(img, &entry, &is_linux);
	if (ret) {
		log_error("%s is an ELF file without a PVH entry point note", kernel);
		goto out;
	}
	ret = load_segments(vm, img, &end);
	if (ret) {
		log_error("cannot load %s: its segments do not fit in guest RAM above 1 MiB", kernel);
		goto out;
	}
	if (cmdline_len > LINUX_CMDLINE_MAX_PVH) {
		log_error("kernel command line too long (%zu bytes)", cmdline_len - 1);
		ret = -E2BIG;
		goto out;
	}
	ret = gm_write(&vm->mem, X86_CMDLINE_ADDR, cmdline, cmdline_len);
	if (ret)
		goto out;
	if (initrd) {
		ret = x86_load_initrd(&vm->mem, initrd, end, vm->mem.region[0].size, &initrd_gpa,
				      &initrd_size);
		if (ret)
			goto out;
	}
	ret = write_start_info(vm, initrd_gpa, initrd_size);
	if (ret)
		goto out;
	vm->arch.entry_mode = X86_ENTRY_PVH32;
	vm->arch.entry = entry;
	vm->arch.boot_info = X86_PVH_INFO_ADDR;
out:
	if (img->fd >= 0)
		close(img->fd);
	free(img);
	return ret;
}
