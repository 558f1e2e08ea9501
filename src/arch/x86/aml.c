#include "arch/x86/aml.h"

#include <stdlib.h>
#include <string.h>

#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_ONES 0xff
#define AML_NAME 0x08
#define AML_BYTE 0x0a
#define AML_WORD 0x0b
#define AML_DWORD 0x0c
#define AML_STRING 0x0d
#define AML_QWORD 0x0e
#define AML_SCOPE 0x10
#define AML_BUFFER 0x11
#define AML_PACKAGE 0x12
#define AML_METHOD 0x14
#define AML_DUAL_NAME 0x2e
#define AML_MULTI_NAME 0x2f
#define AML_EXT 0x5b
#define AML_EXT_DEVICE 0x82
#define AML_ROOT '\\'
#define AML_RETURN 0xa4

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

static bool reserve(struct aml *a, size_t more)
{
	size_t cap;
	uint8_t *buf;

	if (a->oom)
		return false;
	if (a->len + more <= a->cap)
		return true;
	cap = a->cap ? a->cap * 2 : 256;
	while (cap < a->len + more)
		cap *= 2;
	buf = realloc(a->buf, cap);
	if (!buf) {
		a->oom = true;
		return false;
	}
	a->buf = buf;
	a->cap = cap;
	return true;
}

void aml_bytes(struct aml *a, const void *data, size_t len)
{
	if (!reserve(a, len))
		return;
	memcpy(a->buf + a->len, data, len);
	a->len += len;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void le(struct aml *a, uint64_t v, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO);
	} else if (v == 1) {
		aml_byte(a, AML_ONE);
	} else if (v <= 0xff) {
		aml_byte(a, AML_BYTE);
		le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD);
		le(a, v, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(a, AML_DWORD);
		le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD);
		le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING);
	aml_bytes(a, s, strlen(s) + 1);
}

static void name_seg(struct aml *a, const char *seg, size_t len)
{
	char padded[4] = { '_', '_', '_', '_' };

	memcpy(padded, seg, len > 4 ? 4 : len);
	aml_bytes(a, padded, 4);
}

void aml_namestring(struct aml *a, const char *path)
{
	const char *segs[16];
	size_t lens[16];
	unsigned int n = 0;
	const char *p = path;

	if (*p == AML_ROOT) {
		aml_byte(a, AML_ROOT);
		p++;
	}
	while (*p && n < 16) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		segs[n] = p;
		lens[n++] = len;
		p += len + (dot ? 1 : 0);
	}
	if (n == 0) {
		aml_byte(a, 0x00); /* NullName */
		return;
	}
	if (n == 2) {
		aml_byte(a, AML_DUAL_NAME);
	} else if (n > 2) {
		aml_byte(a, AML_MULTI_NAME);
		aml_byte(a, (uint8_t)n);
	}
	for (unsigned int i = 0; i < n; i++)
		name_seg(a, segs[i], lens[i]);
}

static unsigned int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned int)(c - '0');
	if (c >= 'A' && c <= 'F')
		return (unsigned int)(c - 'A' + 10);
	if (c >= 'a' && c <= 'f')
		return (unsigned int)(c - 'a' + 10);
	return 0;
}

/* "PNP0501": three letters of five bits, four hex digits, byte swapped. */
uint32_t aml_eisaid_value(const char *id)
{
	uint32_t v = ((uint32_t)(id[0] - '@') & 0x1f) << 26 | ((uint32_t)(id[1] - '@') & 0x1f) << 21 |
		     ((uint32_t)(id[2] - '@') & 0x1f) << 16 | hex_digit(id[3]) << 12 |
		     hex_digit(id[4]) << 8 | hex_digit(id[5]) << 4 | hex_digit(id[6]);

	return __builtin_bswap32(v);
}

void aml_eisaid(struct aml *a, const char *id)
{
	aml_byte(a, AML_DWORD);
	le(a, aml_eisaid_value(id), 4);
}

void aml_name(struct aml *a, const char *path)
{
	aml_byte(a, AML_NAME);
	aml_namestring(a, path);
}

/* The mark is where the PkgLength will be inserted. */
size_t aml_scope_begin(struct aml *a, const char *path)
{
	size_t mark;

	aml_byte(a, AML_SCOPE);
	mark = a->len;
	aml_namestring(a, path);
	return mark;
}

size_t aml_device_begin(struct aml *a, const char *name)
{
	size_t mark;

	aml_byte(a, AML_EXT);
	aml_byte(a, AML_EXT_DEVICE);
	mark = a->len;
	aml_namestring(a, name);
	return mark;
}

size_t aml_method_begin(struct aml *a, const char *name, unsigned int nargs, bool serialized)
{
	size_t mark;

	aml_byte(a, AML_METHOD);
	mark = a->len;
	aml_namestring(a, name);
	aml_byte(a, (uint8_t)((nargs & 7) | (serialized ? 0x08 : 0)));
	return mark;
}

size_t aml_package_begin(struct aml *a, unsigned int nelems)
{
	size_t mark;

	aml_byte(a, AML_PACKAGE);
	mark = a->len;
	aml_byte(a, (uint8_t)nelems);
	return mark;
}

void aml_end(struct aml *a, size_t mark)
{
	size_t body = a->len - mark;
	uint8_t enc[4];
	unsigned int n;
	size_t total;

	/* PkgLength counts its own bytes. */
	if (body + 1 < 0x40)
		n = 1;
	else if (body + 2 < 0x1000)
		n = 2;
	else if (body + 3 < 0x100000)
		n = 3;
	else
		n = 4;
	total = body + n;
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
		for (unsigned int i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	if (!reserve(a, n))
		return;
	memmove(a->buf + mark + n, a->buf + mark, body);
	memcpy(a->buf + mark, enc, n);
	a->len += n;
}

void aml_buffer(struct aml *a, const uint8_t *data, size_t len)
{
	size_t mark;

	aml_byte(a, AML_BUFFER);
	mark = a->len;
	aml_integer(a, len);
	aml_bytes(a, data, len);
	aml_end(a, mark);
}

void aml_return(struct aml *a)
{
	aml_byte(a, AML_RETURN);
}

/* Small resource: I/O port, 16-bit decode, fixed base. */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
	uint8_t d[8] = { 0x47, 0x01, (uint8_t)base, (uint8_t)(base >> 8),
			 (uint8_t)base, (uint8_t)(base >> 8), 0x01, len };

	aml_bytes(a, d, sizeof(d));
}

void aml_res_irq(struct aml *a, unsigned int irq)
{
	uint16_t mask = (uint16_t)(1u << (irq & 15));
	uint8_t d[3] = { 0x22, (uint8_t)mask, (uint8_t)(mask >> 8) };

	aml_bytes(a, d, sizeof(d));
}

/* Large resource: Word address space (bus numbers, I/O). */
static void word_space(struct aml *a, uint8_t type, uint8_t type_flags, uint16_t min, uint16_t max)
{
	uint16_t len = (uint16_t)(max - min + 1);
	uint8_t d[16] = { 0x88, 13, 0, type, 0x0c /* min/max fixed */, type_flags,
			  0, 0, /* granularity */
			  (uint8_t)min, (uint8_t)(min >> 8), (uint8_t)max, (uint8_t)(max >> 8),
			  0, 0, /* translation */
			  (uint8_t)len, (uint8_t)(len >> 8) };

	aml_bytes(a, d, sizeof(d));
}

void aml_res_bus_range(struct aml *a, uint16_t min, uint16_t max)
{
	word_space(a, 2, 0, min, max);
}

void aml_res_io_range(struct aml *a, uint16_t min, uint16_t max)
{
	word_space(a, 1, 3 /* ISA and non-ISA ranges */, min, max);
}

void aml_res_mem32(struct aml *a, uint32_t min, uint32_t max)
{
	uint32_t len = max - min + 1;
	uint8_t d[26] = { 0x87, 23, 0, 0 /* memory */, 0x0c, 0x01 /* RW, non-cacheable */ };

	memcpy(d + 10, &min, 4);
	memcpy(d + 14, &max, 4);
	memcpy(d + 22, &len, 4);
	aml_bytes(a, d, sizeof(d));
}

void aml_res_mem64(struct aml *a, uint64_t min, uint64_t max)
{
	uint64_t len = max - min + 1;
	uint8_t d[46] = { 0x8a, 43, 0, 0 /* memory */, 0x0c, 0x01 };

	memcpy(d + 14, &min, 8);
	memcpy(d + 22, &max, 8);
	memcpy(d + 38, &len, 8);
	aml_bytes(a, d, sizeof(d));
}

void aml_res_end(struct aml *a)
{
	uint8_t d[2] = { 0x79, 0x00 };

	aml_bytes(a, d, sizeof(d));
}
