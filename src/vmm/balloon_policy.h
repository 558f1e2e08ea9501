/* Automatic cooperative ballooning (--balloon auto): how big the balloon of
 * one VM should be, from the host's memory state and the guest's own
 * statistics.  Pure arithmetic, unit tested; docs/density.md explains it.
 *
 * - Under host pressure (PSI some avg10 above `pressure_pct`, or less than
 *   `low_pct` of host memory available), every VM hands back the same
 *   fraction (`step_pct`) of what its guest can spare per period.  What a
 *   guest can spare is its available memory minus a margin, so a guest is
 *   never squeezed below what it uses plus the margin.
 * - When the host is comfortable again (no pressure, more than `high_pct`
 *   available) the balloon shrinks by the same fraction per period.
 * - Whatever the host, when the guest's own available memory falls under
 *   the margin (its demand grew) the balloon shrinks at once by the shortfall.
 * - Changes smaller than `min_change` are not made (no churn), and the
 *   low/high watermarks are apart (no oscillation). */
#ifndef SARDINE_BALLOON_POLICY_H
#define SARDINE_BALLOON_POLICY_H

#include <stdint.h>

struct balloon_policy {
	double pressure_pct;   /* PSI some avg10 that counts as pressure */
	double low_pct;        /* host available below this %: pressure */
	double high_pct;       /* host available above this %: comfortable */
	double step_pct;       /* share of the spare (or of the balloon) per step */
	uint64_t margin_min;   /* bytes a guest keeps free at least ... */
	double margin_pct;     /* ... or this % of its RAM, whichever is larger */
	uint64_t min_change;   /* bytes */
};

struct balloon_policy_input {
	uint64_t guest_ram;        /* configured guest memory, bytes */
	uint64_t balloon;          /* current balloon (what the guest gave), bytes */
	int64_t guest_available;   /* guest MemAvailable, bytes; < 0: unknown */
	uint64_t host_total;
	uint64_t host_available;
	double host_pressure;      /* PSI some avg10, percent */
};

void balloon_policy_defaults(struct balloon_policy *p);
/* The balloon size to ask for next, in bytes (a multiple of 4 KiB). */
uint64_t balloon_policy_target(const struct balloon_policy *p, const struct balloon_policy_input *in);

#endif
