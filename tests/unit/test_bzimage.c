/* The Linux boot protocol loader against a synthetic bzImage. */
#include <asm/bootparam.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "arch/x86/boot.h"
#include "arch/x86/layout.h"
#include "vmm/vm.h"

static char kernel_path[64], initrd_path[64], junk_path[64], broken_path[64], fixed_path[64];

static void write_file(char *path, const void *data, size_t len)
{
	int fd;

	strcpy(path, "/tmp/sardine-unit-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Boot sector + one setup sector + a 64 KiB "kernel" of 0xab bytes;
 * `tweak`, if any, then changes the header. */
static void write_kernel(char *path, void (*tweak)(struct setup_header *h))
{
	size_t len = 2 * 512 + 65536;
	uint8_t *img = calloc(1, len);
	struct setup_header *h = (struct setup_header *)(img + 0x1f1);

	assert_non_null(img);
	h->setup_sects = 1;
	h->boot_flag = 0xaa55;
	h->jump = 0x6aeb; /* header length byte at 0x201 */
	h->header = 0x53726448;
	h->version = 0x020f;
	h->xloadflags = 1;
	h->pref_address = 0x1000000;
	h->init_size = 0x200000;
	h->kernel_alignment = 0x200000;
	h->relocatable_kernel = 1;
	h->initrd_addr_max = 0x7fffffff;
	h->cmdline_size = 2047;
	if (tweak)
		tweak(h);
	memset(img + 1024, 0xab, 65536);
	write_file(path, img, len);
	free(img);
}

static void broken_header(struct setup_header *h);
static void broken_header_fixed(struct setup_header *h);

static int setup(void **state)
{
	uint8_t initrd[12345];

	(void)state;
	write_kernel(kernel_path, NULL);
	write_kernel(broken_path, broken_header);
	write_kernel(fixed_path, broken_header_fixed);
	memset(initrd, 0x5a, sizeof(initrd));
	write_file(initrd_path, initrd, sizeof(initrd));
	write_file(junk_path, "this is not a kernel, just some text long enough ...", 52);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(kernel_path);
	unlink(initrd_path);
	unlink(junk_path);
	unlink(broken_path);
	unlink(fixed_path);
	return 0;
}

static void fake_vm(struct vm *vm, uint64_t ram)
{
	struct guest_mem_layout l = { .ram_size = ram, .hole_start = X86_MMIO_HOLE_START,
				      .hole_end = X86_4G };

	memset(vm, 0, sizeof(*vm));
	assert_int_equal(guest_mem_init(&vm->mem, &l), 0);
	vm->arch.rsdp = X86_ACPI_ADDR;
}

static void probe_accepts_bzimage_and_rejects_junk(void **state)
{
	struct x86_kernel_info info;

	(void)state;
	assert_int_equal(x86_probe_kernel(kernel_path, &info), 0);
	assert_int_equal(info.kind, X86_KERNEL_BZIMAGE);
	assert_true(info.is_linux);
	assert_int_equal(info.cmdline_max, 2047);
	assert_int_equal(x86_probe_kernel(junk_path, &info), -ENOEXEC);
	assert_int_equal(x86_probe_kernel("/nonexistent/vmlinuz", &info), -ENOENT);
	assert_int_equal(x86_probe_initrd("/nonexistent/initrd"), -ENOENT);
	assert_int_equal(x86_probe_initrd("/tmp"), -EINVAL);
}

static void boot_params_are_filled(void **state)
{
	struct vm vm;
	const struct boot_params *bp;
	const uint8_t *kernel;

	(void)state;
	fake_vm(&vm, 128ULL << 20);
	assert_int_equal(x86_load_bzimage(&vm, kernel_path, initrd_path, "console=ttyS0 quiet"), 0);
	bp = gm_ptr(&vm.mem, X86_ZERO_PAGE_ADDR, sizeof(*bp));
	assert_int_equal(bp->hdr.header, 0x53726448);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_int_equal(bp->hdr.code32_start, 0x1000000);
	assert_int_equal(bp->hdr.cmd_line_ptr, X86_CMDLINE_ADDR);
	assert_string_equal((const char *)gm_ptr(&vm.mem, X86_CMDLINE_ADDR, 1), "console=ttyS0 quiet");
	/* initrd: page aligned, at the top of low RAM, above the kernel. */
	assert_int_equal(bp->hdr.ramdisk_size, 12345);
	assert_int_equal(bp->hdr.ramdisk_image & 0xfff, 0);
	assert_true(bp->hdr.ramdisk_image >= 0x1000000 + 0x200000);
	assert_true(bp->hdr.ramdisk_image + 12345ULL <= 128ULL << 20);
	assert_int_equal(*(const uint8_t *)gm_ptr(&vm.mem, bp->hdr.ramdisk_image, 1), 0x5a);
	assert_int_equal(bp->acpi_rsdp_addr, X86_ACPI_ADDR);
	assert_int_equal(bp->e820_entries, 4);
	/* The protected-mode kernel is at its preferred address. */
	kernel = gm_ptr(&vm.mem, 0x1000000, 65536);
	assert_int_equal(kernel[0], 0xab);
	assert_int_equal(kernel[65535], 0xab);
	assert_int_equal(vm.arch.entry, 0x1000000 + 0x200);
	assert_int_equal(vm.arch.entry_mode, X86_ENTRY_LINUX64);
	assert_int_equal(vm.arch.boot_info, X86_ZERO_PAGE_ADDR);
	guest_mem_destroy(&vm.mem);
}

static void small_guest_relocates_the_kernel(void **state)
{
	struct vm vm;

	(void)state;
	/* 16 MiB + 2 MiB does not fit in 16 MiB: load at 2 MiB instead. */
	fake_vm(&vm, 16ULL << 20);
	assert_int_equal(x86_load_bzimage(&vm, kernel_path, NULL, ""), 0);
	assert_int_equal(vm.arch.entry, 0x200000 + 0x200);
	guest_mem_destroy(&vm.mem);
}

static void overlong_cmdline_is_refused(void **state)
{
	struct vm vm;
	char *cmdline = malloc(3000);

	(void)state;
	memset(cmdline, 'a', 2999);
	cmdline[2999] = 0;
	fake_vm(&vm, 64ULL << 20);
	assert_int_equal(x86_load_bzimage(&vm, kernel_path, NULL, cmdline), -E2BIG);
	guest_mem_destroy(&vm.mem);
	free(cmdline);
}

/* A broken header: a preferred address over the boot structures, an odd
 * alignment, and values in fields that belong to the boot loader. */
static void broken_header(struct setup_header *h)
{
	h->pref_address = 0x7000;
	h->kernel_alignment = 3;
	h->ramdisk_image = 0xffffffff;
	h->ramdisk_size = 0xffffffff;
	h->setup_data = 0xdeadbeef000ULL;
}

static void broken_header_fixed(struct setup_header *h)
{
	broken_header(h);
	h->relocatable_kernel = 0;
}

static void header_fields_are_not_trusted(void **state)
{
	struct vm vm;
	const struct boot_params *bp;

	(void)state;
	fake_vm(&vm, 64ULL << 20);
	assert_int_equal(x86_load_bzimage(&vm, broken_path, NULL, ""), 0);
	bp = gm_ptr(&vm.mem, X86_ZERO_PAGE_ADDR, sizeof(*bp));
	/* Relocated above 1 MiB, at the usual 2 MiB alignment. */
	assert_int_equal(bp->hdr.code32_start, 0x200000);
	assert_int_equal(bp->hdr.ramdisk_image, 0);
	assert_int_equal(bp->hdr.ramdisk_size, 0);
	assert_int_equal(bp->hdr.setup_data, 0);
	guest_mem_destroy(&vm.mem);

	/* Not relocatable and asking for low memory: refused. */
	fake_vm(&vm, 64ULL << 20);
	assert_int_equal(x86_load_bzimage(&vm, fixed_path, NULL, ""), -ENOEXEC);
	guest_mem_destroy(&vm.mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(probe_accepts_bzimage_and_rejects_junk),
		cmocka_unit_test(boot_params_are_filled),
		cmocka_unit_test(small_guest_relocates_the_kernel),
		cmocka_unit_test(overlong_cmdline_is_refused),
		cmocka_unit_test(header_fields_are_not_trusted),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
