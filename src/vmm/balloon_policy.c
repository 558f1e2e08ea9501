#include "vmm/balloon_policy.h"

#include <stdbool.h>

void balloon_policy_defaults(struct balloon_policy *p)
{
	*p = (struct balloon_policy){
		.pressure_pct = 10.0,
		.low_pct = 10.0,
		.high_pct = 25.0,
		.step_pct = 25.0,
		.margin_min = 64ULL << 20,
		.margin_pct = 10.0,
		.min_change = 8ULL << 20,
	};
}

static uint64_t pct(uint64_t v, double percent)
{
	return (uint64_t)((double)v * percent / 100.0);
}

uint64_t balloon_policy_target(const struct balloon_policy *p, const struct balloon_policy_input *in)
{
	uint64_t margin = pct(in->guest_ram, p->margin_pct);
	uint64_t target = in->balloon, spare = 0;
	bool pressure, comfortable;

	if (margin < p->margin_min)
		margin = p->margin_min;
	if (in->guest_available < 0)
		return in->balloon; /* no statistics yet: change nothing */
	if ((uint64_t)in->guest_available > margin)
		spare = (uint64_t)in->guest_available - margin;
	pressure = in->host_pressure >= p->pressure_pct ||
		   in->host_available < pct(in->host_total, p->low_pct);
	comfortable = in->host_pressure < p->pressure_pct / 2 &&
		      in->host_available > pct(in->host_total, p->high_pct);

	if ((uint64_t)in->guest_available < margin) {
		/* The guest needs memory: give back the shortfall now. */
		uint64_t shortfall = margin - (uint64_t)in->guest_available;

		target = in->balloon > shortfall ? in->balloon - shortfall : 0;
	} else if (pressure) {
		target = in->balloon + pct(spare, p->step_pct);
	} else if (comfortable) {
		uint64_t step = pct(in->balloon, p->step_pct);

		/* Once a step would be under min_change (which the check below
		 * skips), the rest goes at once: else the balloon rests there
		 * for good, pressure gone or not. */
		target = step >= p->min_change ? in->balloon - step : 0;
	}
	/* Never more than the guest could give while keeping its margin. */
	if (target + margin > in->guest_ram)
		target = in->guest_ram > margin ? in->guest_ram - margin : 0;
	target &= ~4095ULL;
	if ((target > in->balloon ? target - in->balloon : in->balloon - target) < p->min_change &&
	    target != 0)
		return in->balloon;
	return target;
}
