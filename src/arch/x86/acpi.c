#include "arch/x86/acpi.h"

#include <string.h>

#include "arch/x86/aml.h"
#include "arch/x86/layout.h"
#include "hw/acpi_pm.h"

#define OEM_ID "SARDIN"
#define OEM_TABLE_ID "SARDINE "
#define CREATOR_ID "SRDN"

struct sdt_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct gas {
	uint8_t space_id; /* 1: system I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));

struct rsdp {
	char signature[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;
	uint8_t reserved[3];
} __attribute__((packed));

struct fadt {
	struct sdt_header h;
	uint32_t firmware_ctrl, dsdt;
	uint8_t reserved0, preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk, pm2_cnt_blk, pm_tmr_blk;
	uint32_t gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len, gpe0_blk_len, gpe1_blk_len;
	uint8_t gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl, x_dsdt;
	struct gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct gas sleep_control_reg, sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));

struct facs {
	char signature[4];
	uint32_t length, hardware_signature, firmware_waking_vector, global_lock, flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version, reserved[31];
} __attribute__((packed));

struct madt_lapic {
	uint8_t type, length, processor_uid, apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type, length, id, reserved;
	uint32_t address, gsi_base;
} __attribute__((packed));

struct madt_iso {
	uint8_t type, length, bus, source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));

struct madt_lapic_nmi {
	uint8_t type, length, processor_uid;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

struct mcfg_entry {
	uint64_t base;
	uint16_t segment;
	uint8_t bus_start, bus_end;
	uint32_t reserved;
} __attribute__((packed));

#define FADT_WBINVD (1u << 0)
#define FADT_PROC_C1 (1u << 2)
#define FADT_SLP_BUTTON (1u << 5)
#define FADT_TMR_VAL_EXT (1u << 8)
#define FADT_RESET_REG_SUP (1u << 10)
#define BOOT_ARCH_LEGACY_DEVICES (1u << 0)
#define BOOT_ARCH_VGA_NOT_PRESENT (1u << 2)
#define MADT_PCAT_COMPAT 1u
#define ISO_LEVEL_ACTIVE_HIGH 0x000d

uint8_t acpi_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum;
}

/* A bump allocator over the output buffer. */
struct builder {
	uint8_t *buf;
	size_t cap, len;
	uint64_t base;
	bool overflow;
};

static size_t alloc(struct builder *b, size_t size, size_t align)
{
	size_t off = (b->len + align - 1) & ~(align - 1);

	if (off + size > b->cap) {
		b->overflow = true;
		return 0;
	}
	memset(b->buf + off, 0, size);
	b->len = off + size;
	return off;
}

static void header(struct sdt_header *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, OEM_ID, 6);
	memcpy(h->oem_table_id, OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, CREATOR_ID, 4);
	h->creator_revision = 1;
}

static void seal(struct builder *b, size_t off)
{
	struct sdt_header *h = (struct sdt_header *)(b->buf + off);

	h->checksum = 0;
	h->checksum = (uint8_t)(0 - acpi_checksum(h, h->length));
}

/* Copies a finished table into the buffer and checksums it. */
static uint64_t emit(struct builder *b, const void *table, size_t len)
{
	size_t off = alloc(b, len, 16);

	if (b->overflow)
		return 0;
	memcpy(b->buf + off, table, len);
	seal(b, off);
	return b->base + off;
}

static struct gas io_gas(uint64_t port, uint8_t bits)
{
	return (struct gas){ .space_id = 1, .bit_width = bits, .access_size = 0, .address = port };
}

static uint64_t build_fadt(struct builder *b, const struct acpi_params *p, uint64_t dsdt,
			   uint64_t facs)
{
	struct fadt f;
	uint16_t pm = p->pm_port;

	memset(&f, 0, sizeof(f));
	header(&f.h, "FACP", sizeof(f), 6);
	f.firmware_ctrl = (uint32_t)facs;
	f.dsdt = (uint32_t)dsdt;
	f.x_firmware_ctrl = facs;
	f.x_dsdt = dsdt;
	f.sci_int = (uint16_t)p->sci_irq;
	f.smi_cmd = 0; /* no SMM: always in ACPI mode */
	f.pm1a_evt_blk = pm + ACPI_PM1_EVT;
	f.pm1a_cnt_blk = pm + ACPI_PM1_CNT;
	f.pm_tmr_blk = pm + ACPI_PM_TMR;
	f.gpe0_blk = pm + ACPI_GPE0;
	f.pm1_evt_len = 4;
	f.pm1_cnt_len = 2;
	f.pm_tmr_len = 4;
	f.gpe0_blk_len = 4;
	f.p_lvl2_lat = 101;  /* > 100: C2 not supported */
	f.p_lvl3_lat = 1001; /* > 1000: C3 not supported */
	f.century = 0x32;
	f.iapc_boot_arch = BOOT_ARCH_LEGACY_DEVICES | BOOT_ARCH_VGA_NOT_PRESENT;
	f.flags = FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_TMR_VAL_EXT |
		  FADT_RESET_REG_SUP;
	f.reset_reg = io_gas(pm + ACPI_RESET, 8);
	f.reset_value = ACPI_RESET_VALUE;
	f.minor_version = 0;
	f.x_pm1a_evt_blk = io_gas(pm + ACPI_PM1_EVT, 32);
	f.x_pm1a_cnt_blk = io_gas(pm + ACPI_PM1_CNT, 16);
	f.x_pm_tmr_blk = io_gas(pm + ACPI_PM_TMR, 32);
	f.x_gpe0_blk = io_gas(pm + ACPI_GPE0, 32);
	memcpy(&f.hypervisor_vendor_id, "SARDINE\0", 8);
	return emit(b, &f, sizeof(f));
}

static uint64_t build_facs(struct builder *b)
{
	size_t off = alloc(b, sizeof(struct facs), 64);
	struct facs *f = (struct facs *)(b->buf + off);

	if (b->overflow)
		return 0;
	memcpy(f->signature, "FACS", 4);
	f->length = sizeof(*f);
	f->version = 2;
	return b->base + off;
}

static uint64_t build_madt(struct builder *b, const struct acpi_params *p)
{
	size_t len = sizeof(struct sdt_header) + 8 + p->nr_cpus * sizeof(struct madt_lapic) +
		     sizeof(struct madt_ioapic) + sizeof(struct madt_iso) +
		     sizeof(struct madt_lapic_nmi);
	size_t off = alloc(b, len, 16);
	uint8_t *t = b->buf + off, *q;
	uint32_t v;

	if (b->overflow)
		return 0;
	header((struct sdt_header *)t, "APIC", (uint32_t)len, 5);
	q = t + sizeof(struct sdt_header);
	v = (uint32_t)X86_LAPIC_ADDR;
	memcpy(q, &v, 4);
	v = MADT_PCAT_COMPAT;
	memcpy(q + 4, &v, 4);
	q += 8;
	for (unsigned int i = 0; i < p->nr_cpus; i++, q += sizeof(struct madt_lapic)) {
		struct madt_lapic e = { 0, sizeof(e), (uint8_t)i, (uint8_t)i, 1 };

		memcpy(q, &e, sizeof(e));
	}
	{
		struct madt_ioapic io = { 1, sizeof(io), 0, 0, (uint32_t)X86_IOAPIC_ADDR, 0 };
		/* The SCI is level triggered, active high, on its own GSI. */
		struct madt_iso iso = { 2, sizeof(iso), 0, (uint8_t)p->sci_irq, p->sci_irq,
					ISO_LEVEL_ACTIVE_HIGH };
		struct madt_lapic_nmi nmi = { 4, sizeof(nmi), 0xff, 0, 1 };

		memcpy(q, &io, sizeof(io));
		q += sizeof(io);
		memcpy(q, &iso, sizeof(iso));
		q += sizeof(iso);
		memcpy(q, &nmi, sizeof(nmi));
	}
	seal(b, off);
	return b->base + off;
}

static uint64_t build_mcfg(struct builder *b, const struct acpi_params *p)
{
	size_t len = sizeof(struct sdt_header) + 8 + sizeof(struct mcfg_entry);
	size_t off = alloc(b, len, 16);
	uint8_t *t = b->buf + off;
	struct mcfg_entry e = { .base = p->ecam_base, .segment = 0, .bus_start = 0, .bus_end = 0 };

	if (b->overflow)
		return 0;
	header((struct sdt_header *)t, "MCFG", (uint32_t)len, 1);
	memcpy(t + sizeof(struct sdt_header) + 8, &e, sizeof(e));
	seal(b, off);
	return b->base + off;
}

/* Name(_CRS, ResourceTemplate() { IO(port, len) [IRQNoFlags(irq)] }) */
static void crs_io(struct aml *a, uint16_t port, uint8_t len, int irq)
{
	struct aml r;

	aml_init(&r);
	aml_res_io(&r, port, len);
	if (irq >= 0)
		aml_res_irq(&r, (unsigned int)irq);
	aml_res_end(&r);
	aml_name(a, "_CRS");
	aml_buffer(a, r.buf, r.len);
	a->oom |= r.oom;
	aml_free(&r);
}

static void legacy_device(struct aml *a, const char *name, const char *hid, unsigned int uid,
			  uint16_t port, uint8_t len, int irq)
{
	size_t dev = aml_device_begin(a, name);

	aml_name(a, "_HID");
	aml_eisaid(a, hid);
	aml_name(a, "_UID");
	aml_integer(a, uid);
	crs_io(a, port, len, irq);
	aml_end(a, dev);
}

static void pci_root(struct aml *a, const struct acpi_params *p)
{
	size_t dev = aml_device_begin(a, "PCI0"), prt;
	struct aml r;

	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A08"); /* PCI Express root */
	aml_name(a, "_CID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_SEG");
	aml_integer(a, 0);
	aml_name(a, "_BBN");
	aml_integer(a, 0);
	aml_name(a, "_UID");
	aml_integer(a, 0);

	aml_init(&r);
	aml_res_bus_range(&r, 0, 0);
	aml_res_io_range(&r, 0x0000, 0x0cf7);
	aml_res_io_range(&r, 0x0d00, 0xffff);
	aml_res_mem32(&r, (uint32_t)p->mmio32_base, (uint32_t)(p->mmio32_base + p->mmio32_size - 1));
	if (p->mmio64_size)
		aml_res_mem64(&r, p->mmio64_base, p->mmio64_base + p->mmio64_size - 1);
	aml_res_end(&r);
	aml_name(a, "_CRS");
	aml_buffer(a, r.buf, r.len);
	a->oom |= r.oom;
	aml_free(&r);

	/* _PRT: INTx pin of every slot to a GSI, swizzled like a PC. */
	aml_name(a, "_PRT");
	prt = aml_package_begin(a, 31 * 4);
	for (unsigned int slot = 1; slot < 32; slot++) {
		for (unsigned int pin = 0; pin < 4; pin++) {
			size_t e = aml_package_begin(a, 4);

			aml_integer(a, ((uint64_t)slot << 16) | 0xffff);
			aml_integer(a, pin);
			aml_integer(a, 0);
			aml_integer(a, p->pci_intx_gsi_base + (slot + pin) % ACPI_PCI_INTX_GSI_COUNT);
			aml_end(a, e);
		}
	}
	aml_end(a, prt);
	aml_end(a, dev);
}

static uint64_t build_dsdt(struct builder *b, const struct acpi_params *p)
{
	struct sdt_header h;
	struct aml a;
	size_t sb, s5, off;
	uint64_t addr = 0;

	aml_init(&a);
	memset(&h, 0, sizeof(h));
	aml_bytes(&a, &h, sizeof(h));
	sb = aml_scope_begin(&a, "\\_SB_");
	legacy_device(&a, "COM1", "PNP0501", 1, X86_COM1_PORT, 8, X86_COM1_IRQ);
	legacy_device(&a, "RTC_", "PNP0B00", 0, X86_RTC_PORT, 2, -1);
	if (p->pci)
		pci_root(&a, p);
	aml_end(&a, sb);
	/* \_S5: the SLP_TYP value acpi_pm treats as "power off". */
	aml_name(&a, "\\_S5_");
	s5 = aml_package_begin(&a, 4);
	aml_integer(&a, ACPI_S5_SLP_TYP);
	aml_integer(&a, ACPI_S5_SLP_TYP);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_end(&a, s5);

	if (!a.oom) {
		header((struct sdt_header *)a.buf, "DSDT", (uint32_t)a.len, 2);
		off = alloc(b, a.len, 16);
		if (!b->overflow) {
			memcpy(b->buf + off, a.buf, a.len);
			seal(b, off);
			addr = b->base + off;
		}
	}
	aml_free(&a);
	return addr;
}

size_t acpi_build_tables(uint8_t *buf, size_t cap, uint64_t base, const struct acpi_params *p)
{
	struct builder b = { .buf = buf, .cap = cap, .base = base };
	size_t rsdp_off = alloc(&b, sizeof(struct rsdp), 16);
	uint64_t entries[4], dsdt, facs, xsdt_addr;
	unsigned int n = 0;
	struct rsdp *rsdp;
	size_t xsdt_len, xsdt_off;

	dsdt = build_dsdt(&b, p);
	facs = build_facs(&b);
	entries[n++] = build_fadt(&b, p, dsdt, facs);
	entries[n++] = build_madt(&b, p);
	if (p->pci)
		entries[n++] = build_mcfg(&b, p);

	xsdt_len = sizeof(struct sdt_header) + n * 8;
	xsdt_off = alloc(&b, xsdt_len, 16);
	if (b.overflow || !dsdt)
		return 0;
	header((struct sdt_header *)(buf + xsdt_off), "XSDT", (uint32_t)xsdt_len, 1);
	memcpy(buf + xsdt_off + sizeof(struct sdt_header), entries, n * 8);
	seal(&b, xsdt_off);
	xsdt_addr = base + xsdt_off;

	rsdp = (struct rsdp *)(buf + rsdp_off);
	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_address = xsdt_addr;
	rsdp->checksum = (uint8_t)(0 - acpi_checksum(rsdp, 20));
	rsdp->extended_checksum = (uint8_t)(0 - acpi_checksum(rsdp, sizeof(*rsdp)));
	return b.len;
}
