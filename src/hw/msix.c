#define LOG_TAG "msix"
#include "hw/msix.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hw/pci.h"
#include "vmm/irq.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_MASKALL 0x4000
#define MSIX_VECTOR_MASKED 0x1
#define MSIX_CAP_LEN 12

int msix_init(struct msix *m, struct vm *vm, struct pci_device *pci, unsigned int nr,
	      unsigned int bar, uint32_t table_off, uint32_t pba_off)
{
	int ret;

	memset(m, 0, sizeof(*m));
	if (nr == 0 || nr > 2048)
		return -EINVAL;
	m->vm = vm;
	m->pci = pci;
	m->nr = nr;
	pthread_mutex_init(&m->lock, NULL);
	m->table = calloc(nr, sizeof(*m->table));
	m->pending = calloc((nr + 63) / 64, sizeof(*m->pending));
	m->gsi = calloc(nr, sizeof(*m->gsi));
	m->fd = calloc(nr, sizeof(*m->fd));
	if (!m->table || !m->pending || !m->gsi || !m->fd) {
		ret = -ENOMEM;
		goto err;
	}
	for (unsigned int i = 0; i < nr; i++)
		m->fd[i] = -1;
	for (unsigned int i = 0; i < nr; i++) {
		m->table[i].ctrl = MSIX_VECTOR_MASKED;
		m->fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (m->fd[i] < 0) {
			ret = -errno;
			goto err;
		}
		ret = irq_msi_alloc(vm, &m->gsi[i]);
		if (!ret)
			ret = irqfd_assign(vm, m->fd[i], m->gsi[i]);
		if (ret)
			goto err;
	}
	m->cap = pci_add_cap(pci, PCI_CAP_ID_MSIX, MSIX_CAP_LEN);
	if (!m->cap) {
		ret = -ENOSPC;
		goto err;
	}
	pci_set_u16(pci->config + m->cap + 2, (uint16_t)(nr - 1));
	pci_set_u32(pci->config + m->cap + 4, table_off | bar);
	pci_set_u32(pci->config + m->cap + 8, pba_off | bar);
	pci_set_u16(pci->wmask + m->cap + 2, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
	return 0;
err:
	msix_destroy(m);
	return ret;
}

void msix_destroy(struct msix *m)
{
	if (!m->vm)
		return; /* never initialised */
	for (unsigned int i = 0; m->fd && i < m->nr; i++) {
		if (m->fd[i] < 0)
			continue;
		if (m->gsi[i]) {
			irqfd_deassign(m->vm, m->fd[i], m->gsi[i]);
			irq_msi_free(m->vm, m->gsi[i]);
		}
		close(m->fd[i]);
	}
	free(m->table);
	free(m->pending);
	free(m->gsi);
	free(m->fd);
	m->table = NULL;
	m->pending = NULL;
	m->gsi = NULL;
	m->fd = NULL;
	pthread_mutex_destroy(&m->lock);
	m->vm = NULL;
}

static bool masked(const struct msix *m, unsigned int v)
{
	return !m->enabled || m->all_masked || (m->table[v].ctrl & MSIX_VECTOR_MASKED);
}

static void fire(struct msix *m, unsigned int v)
{
	uint64_t one = 1;

	m->sent++;
	if (write(m->fd[v], &one, sizeof(one)) < 0)
		log_debug("vector %u: %s", v, strerror(errno));
}

/* With the lock held: push the vector's route and deliver what waited. */
static void update_vector(struct msix *m, unsigned int v)
{
	const struct msix_entry *e = &m->table[v];

	if (masked(m, v))
		return;
	irq_msi_route(m->vm, m->gsi[v], (uint64_t)e->addr_hi << 32 | e->addr_lo, e->data);
	if (m->pending[v / 64] & (1ULL << (v % 64))) {
		m->pending[v / 64] &= ~(1ULL << (v % 64));
		fire(m, v);
	}
}

void msix_table_read(struct msix *m, uint64_t off, uint8_t *data, unsigned int len)
{
	uint64_t v = off / MSIX_ENTRY_SIZE, word = (off % MSIX_ENTRY_SIZE) / 4;
	uint32_t value;

	/* Dword or qword accesses, naturally aligned (PCI spec). */
	if (v >= m->nr || (len != 4 && len != 8) || (off & (len - 1))) {
		memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&m->lock);
	for (unsigned int i = 0; i < len / 4; i++) {
		value = ((const uint32_t *)&m->table[v])[word + i];
		bus_put(data + 4 * i, 4, value);
	}
	pthread_mutex_unlock(&m->lock);
}

void msix_table_write(struct msix *m, uint64_t off, const uint8_t *data, unsigned int len)
{
	uint64_t v = off / MSIX_ENTRY_SIZE, word = (off % MSIX_ENTRY_SIZE) / 4;

	if (v >= m->nr || (len != 4 && len != 8) || (off & (len - 1)))
		return;
	pthread_mutex_lock(&m->lock);
	for (unsigned int i = 0; i < len / 4; i++) {
		uint32_t value = (uint32_t)bus_get(data + 4 * i, 4);

		if (word + i == 3)
			value &= MSIX_VECTOR_MASKED; /* reserved bits stay 0 */
		((uint32_t *)&m->table[v])[word + i] = value;
	}
	update_vector(m, (unsigned int)v);
	pthread_mutex_unlock(&m->lock);
}

void msix_pba_read(struct msix *m, uint64_t off, uint8_t *data, unsigned int len)
{
	uint64_t word = off / 8;

	memset(data, 0, len);
	if (word >= (m->nr + 63) / 64 || off % len)
		return;
	pthread_mutex_lock(&m->lock);
	bus_put(data, len, m->pending[word] >> ((off % 8) * 8));
	pthread_mutex_unlock(&m->lock);
}

void msix_config_written(struct msix *m, uint32_t off, uint32_t len)
{
	uint16_t ctrl;

	if (off + len <= m->cap + 2u || off >= m->cap + 4u)
		return;
	ctrl = pci_get_u16(m->pci->config + m->cap + 2);
	pthread_mutex_lock(&m->lock);
	m->enabled = ctrl & MSIX_CTRL_ENABLE;
	m->all_masked = ctrl & MSIX_CTRL_MASKALL;
	for (unsigned int v = 0; v < m->nr; v++)
		update_vector(m, v);
	pthread_mutex_unlock(&m->lock);
}

bool msix_enabled(struct msix *m)
{
	return __atomic_load_n(&m->enabled, __ATOMIC_ACQUIRE);
}

bool msix_notify(struct msix *m, uint16_t vector)
{
	if (vector >= m->nr)
		return false;
	pthread_mutex_lock(&m->lock);
	if (masked(m, vector)) {
		m->pending[vector / 64] |= 1ULL << (vector % 64);
		m->held++;
	} else {
		fire(m, vector);
	}
	pthread_mutex_unlock(&m->lock);
	return true;
}

void msix_reset(struct msix *m)
{
	pthread_mutex_lock(&m->lock);
	for (unsigned int v = 0; v < m->nr; v++)
		m->table[v] = (struct msix_entry){ .ctrl = MSIX_VECTOR_MASKED };
	memset(m->pending, 0, (m->nr + 63) / 64 * sizeof(*m->pending));
	m->enabled = false;
	m->all_masked = false;
	pthread_mutex_unlock(&m->lock);
}
