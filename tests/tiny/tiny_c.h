/* Freestanding helpers for tiny guests in C: port and MMIO access, a polled
 * COM1, PCI configuration space through 0xcf8/0xcfc. */
#ifndef TINY_C_H
#define TINY_C_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline u8 mmio_r8(u32 a) { return *(volatile u8 *)a; }
static inline u16 mmio_r16(u32 a) { return *(volatile u16 *)a; }
static inline u32 mmio_r32(u32 a) { return *(volatile u32 *)a; }
static inline void mmio_w8(u32 a, u8 v) { *(volatile u8 *)a = v; }
static inline void mmio_w16(u32 a, u16 v) { *(volatile u16 *)a = v; }
static inline void mmio_w32(u32 a, u32 v) { *(volatile u32 *)a = v; }

static inline void putc_com1(char c) { outb(0x3f8, (u8)c); }

static inline void puts_com1(const char *s)
{
	while (*s)
		putc_com1(*s++);
}

static inline void put_dec(u32 v)
{
	char buf[11];
	int i = 10;

	buf[i] = 0;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	puts_com1(buf + i);
}

static inline u32 pci_read32(u32 dev, u32 reg)
{
	outl(0xcf8, 0x80000000u | (dev << 11) | (reg & 0xfc));
	return inl(0xcfc);
}

static inline void pci_write32(u32 dev, u32 reg, u32 v)
{
	outl(0xcf8, 0x80000000u | (dev << 11) | (reg & 0xfc));
	outl(0xcfc, v);
}

static inline void *memset_t(void *p, int c, u32 n)
{
	u8 *d = p;

	while (n--)
		*d++ = (u8)c;
	return p;
}

#endif
