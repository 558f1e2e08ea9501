/* ACPI fixed hardware: PM1a event/control blocks (S5 power off, the power
 * button), the PM timer, the FADT reset register and GPE0.  The SCI is an
 * ISA interrupt, level triggered. */
#ifndef SARDINE_ACPI_PM_H
#define SARDINE_ACPI_PM_H

#include <pthread.h>
#include <stdint.h>

struct vm;

/* Offsets inside the block at X86_PM_PORT; the FADT is built from these. */
#define ACPI_PM1_EVT 0x00 /* 4 bytes: status, enable */
#define ACPI_PM1_CNT 0x04 /* 2 bytes */
#define ACPI_PM_TMR 0x08  /* 4 bytes */
#define ACPI_RESET 0x0c   /* 1 byte */
#define ACPI_GPE0 0x10    /* 4 bytes: status, enable */
#define ACPI_PM_LEN 0x14
#define ACPI_RESET_VALUE 0x01
#define ACPI_S5_SLP_TYP 5 /* the \_S5 package in the DSDT says the same */

struct acpi_pm_state {
	uint16_t pm1_sts, pm1_en, pm1_cnt;
	uint16_t gpe0_sts, gpe0_en;
};

struct acpi_pm {
	struct acpi_pm_state s;
	pthread_mutex_t lock;
	struct vm *vm;
	uint16_t port;
	unsigned int sci_irq;
	int sci_level;
};

int acpi_pm_create(struct acpi_pm **out, struct vm *vm, uint16_t port, unsigned int sci_irq);
void acpi_pm_destroy(struct acpi_pm *pm);
/* Press the power button: the guest's ACPI driver sees a fixed event. */
void acpi_pm_power_button(struct acpi_pm *pm);
/* Raise a general-purpose event (hot-plug and friends). */
void acpi_pm_gpe(struct acpi_pm *pm, unsigned int bit);

#endif
