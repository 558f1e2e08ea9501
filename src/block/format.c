/* Recognising image formats that are not raw.
 *
 * sardine runs raw images only.  A qcow2 (or VMDK, VDI, ...) file given
 * as a disk would otherwise reach the guest as its container's metadata,
 * and a guest writing to it would wreck the image for the tool that made
 * it: so an image whose first bytes carry another format's signature is
 * refused, unless the user says it is raw (format=raw), as for a disk on
 * which the guest itself stored such an image.  Signatures from each
 * format's published description: only those at fixed offsets in the
 * first sector, which no file system or partition table starts with.
 * A LUKS header is not among them: a guest may encrypt its whole disk. */
#include <stdint.h>
#include <string.h>

#include "block/block.h"

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static bool starts_with(const uint8_t *head, size_t len, const char *sig, size_t siglen)
{
	return len >= siglen && memcmp(head, sig, siglen) == 0;
}

const char *blk_format_probe(const uint8_t *head, size_t len)
{
	if (starts_with(head, len, "QFI\xfb", 4) && len >= 8)
		return be32(head + 4) == 1 ? "qcow" : "qcow2";
	if (starts_with(head, len, "QED\0", 4))
		return "QED";
	if (starts_with(head, len, "KDMV", 4) || starts_with(head, len, "# Disk DescriptorFile", 21))
		return "VMDK";
	if (len >= 0x44 && le32(head + 0x40) == 0xbeda107fu)
		return "VDI";
	if (starts_with(head, len, "vhdxfile", 8))
		return "VHDX";
	if (starts_with(head, len, "conectix", 8))
		return "VHD";
	return NULL;
}
