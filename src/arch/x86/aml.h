/* A small AML (ACPI Machine Language) encoder for the DSDT.
 *
 * Constructs with a PkgLength (Scope, Device, Method, Package, Buffer) are
 * opened with aml_*_begin(), which returns a mark, and closed with
 * aml_end(mark): the length is only known at the end, so it is inserted
 * there.  Allocation failure is sticky (a->oom) and checked once at the end. */
#ifndef SARDINE_X86_AML_H
#define SARDINE_X86_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t len, cap;
	bool oom;
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);

void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *data, size_t len);
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* "\\_SB_.PCI0", "_HID", "COM1": segments of up to 4 chars, '_' padded. */
void aml_namestring(struct aml *a, const char *path);
void aml_eisaid(struct aml *a, const char *id);
uint32_t aml_eisaid_value(const char *id);

/* Name(path, <value emitted next by the caller>) */
void aml_name(struct aml *a, const char *path);
size_t aml_scope_begin(struct aml *a, const char *path);
size_t aml_device_begin(struct aml *a, const char *name);
size_t aml_method_begin(struct aml *a, const char *name, unsigned int nargs, bool serialized);
size_t aml_package_begin(struct aml *a, unsigned int nelems);
void aml_end(struct aml *a, size_t mark);
/* Buffer(){ bytes } */
void aml_buffer(struct aml *a, const uint8_t *data, size_t len);
void aml_return(struct aml *a);

/* Resource template items (for _CRS), appended raw into `a`. */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);
void aml_res_irq(struct aml *a, unsigned int irq);
void aml_res_bus_range(struct aml *a, uint16_t min, uint16_t max);
void aml_res_io_range(struct aml *a, uint16_t min, uint16_t max);
void aml_res_mem32(struct aml *a, uint32_t min, uint32_t max);
void aml_res_mem64(struct aml *a, uint64_t min, uint64_t max);
void aml_res_end(struct aml *a);

#endif
