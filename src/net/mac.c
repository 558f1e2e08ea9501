/* Default MAC addresses.  A VM's NICs get addresses that depend only on its
 * name and the NIC's position, so a VM keeps its address across restarts
 * (DHCP leases, firewall rules) and VMs with different names differ: 46
 * bits of a 64-bit hash, so two names collide with probability 2^-46. */
#include <stdio.h>
#include <string.h>

#include "net/backend.h"

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* splitmix64's finaliser: every input bit reaches every output bit. */
static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void net_default_mac(const char *vm_name, unsigned int index, uint8_t mac[6])
{
	static const char domain[] = "sardine-virtio-net";
	uint8_t idx[4] = { (uint8_t)index, (uint8_t)(index >> 8), (uint8_t)(index >> 16),
			   (uint8_t)(index >> 24) };
	uint64_t h = 0xcbf29ce484222325ULL;

	h = fnv1a(h, domain, sizeof(domain));
	/* The terminating NUL separates the name from the index. */
	h = fnv1a(h, vm_name, strlen(vm_name) + 1);
	h = mix(fnv1a(h, idx, sizeof(idx)));
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
	mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02); /* unicast, locally administered */
}

void net_format_mac(const uint8_t mac[6], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}
