#define LOG_TAG "acpi"
#include "hw/acpi_pm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/log.h"
#include "vmm/vm.h"

#define PM1_TMR_STS 0x0001
#define PM1_PWRBTN_STS 0x0100
#define PM1_WAK_STS 0x8000
#define PM1_CNT_SCI_EN 0x0001
#define PM1_CNT_SLP_EN 0x2000
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM_TIMER_HZ 3579545ULL

static void update_sci(struct acpi_pm *pm)
{
	const struct acpi_pm_state *s = &pm->s;
	int level = (s->pm1_sts & s->pm1_en & (PM1_PWRBTN_STS | PM1_TMR_STS)) ||
		    (s->gpe0_sts & s->gpe0_en);

	if (level != pm->sci_level) {
		pm->sci_level = level;
		vm_set_irq_line(pm->vm, pm->sci_irq, level);
	}
}

static uint32_t pm_timer(void)
{
	struct timespec ts;
	unsigned __int128 ticks;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ticks = ((unsigned __int128)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec) *
		PM_TIMER_HZ / 1000000000ULL;
	return (uint32_t)ticks;
}

static uint32_t read_reg(struct acpi_pm *pm, uint64_t offset)
{
	const struct acpi_pm_state *s = &pm->s;

	switch (offset) {
	case ACPI_PM1_EVT: return s->pm1_sts;
	case ACPI_PM1_EVT + 2: return s->pm1_en;
	case ACPI_PM1_CNT: return s->pm1_cnt;
	case ACPI_PM_TMR: return pm_timer();
	case ACPI_GPE0: return s->gpe0_sts;
	case ACPI_GPE0 + 2: return s->gpe0_en;
	default: return 0;
	}
}

static void write_pm1_cnt(struct acpi_pm *pm, uint16_t v)
{
	unsigned int slp_typ = (v >> PM1_CNT_SLP_TYP_SHIFT) & 7;

	/* SLP_EN is write-only: it triggers, it is never stored. */
	pm->s.pm1_cnt = (uint16_t)((v & ~PM1_CNT_SLP_EN) | PM1_CNT_SCI_EN);
	if (!(v & PM1_CNT_SLP_EN))
		return;
	if (slp_typ == ACPI_S5_SLP_TYP) {
		log_debug("guest entered S5");
		vm_request_exit(pm->vm, VM_EXIT_POWEROFF);
	} else {
		log_debug("sleep state type %u not supported, ignored", slp_typ);
	}
}

static void write_reg(struct acpi_pm *pm, uint64_t offset, uint32_t v, unsigned int len)
{
	struct acpi_pm_state *s = &pm->s;

	switch (offset) {
	case ACPI_PM1_EVT: /* write one to clear */
		s->pm1_sts &= (uint16_t)~v;
		/* A 32-bit write covers the enable register too. */
		if (len == 4)
			s->pm1_en = (uint16_t)(v >> 16);
		break;
	case ACPI_PM1_EVT + 2:
		s->pm1_en = (uint16_t)v;
		break;
	case ACPI_PM1_CNT:
		write_pm1_cnt(pm, (uint16_t)v);
		break;
	case ACPI_RESET:
		if ((v & 0xff) == ACPI_RESET_VALUE)
			vm_request_exit(pm->vm, VM_EXIT_REBOOT);
		break;
	case ACPI_GPE0:
		s->gpe0_sts &= (uint16_t)~v;
		if (len == 4)
			s->gpe0_en = (uint16_t)(v >> 16);
		break;
	case ACPI_GPE0 + 2:
		s->gpe0_en = (uint16_t)v;
		break;
	default:
		break;
	}
}

static void pm_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int len)
{
	struct acpi_pm *pm = opaque;
	uint32_t v;

	pthread_mutex_lock(&pm->lock);
	v = read_reg(pm, offset);
	pthread_mutex_unlock(&pm->lock);
	bus_put(data, len, v);
}

static void pm_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned int len)
{
	struct acpi_pm *pm = opaque;

	pthread_mutex_lock(&pm->lock);
	write_reg(pm, offset, (uint32_t)bus_get(data, len), len);
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static const struct bus_ops pm_ops = {
	.read = pm_read,
	.write = pm_write,
};

int acpi_pm_create(struct acpi_pm **out, struct vm *vm, uint16_t port, unsigned int sci_irq)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	int ret;

	if (!pm)
		return -ENOMEM;
	pthread_mutex_init(&pm->lock, NULL);
	pm->vm = vm;
	pm->port = port;
	pm->sci_irq = sci_irq;
	pm->s.pm1_cnt = PM1_CNT_SCI_EN; /* born in ACPI mode: no SMI handshake */
	ret = bus_register(&vm->pio, port, ACPI_PM_LEN, &pm_ops, pm);
	if (ret) {
		free(pm);
		return ret;
	}
	*out = pm;
	return 0;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	if (!pm)
		return;
	bus_unregister(&pm->vm->pio, pm->port, pm);
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->s.pm1_sts |= PM1_PWRBTN_STS;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

void acpi_pm_gpe(struct acpi_pm *pm, unsigned int bit)
{
	pthread_mutex_lock(&pm->lock);
	pm->s.gpe0_sts |= (uint16_t)(1u << (bit & 15));
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}
