#define LOG_TAG "io-sched"
#include "vmm/io_sched.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/log.h"

void io_sched_init(struct io_sched *s)
{
	const char *env = getenv("SARDINE_IO_SCHED");

	memset(s, 0, sizeof(*s));
	s->mode = IO_SCHED_AUTO;
	if (env && !strcmp(env, "normal"))
		s->mode = IO_SCHED_NORMAL;
	else if (env && !strcmp(env, "batch"))
		s->mode = IO_SCHED_BATCH;
}

bool io_sched_account(struct io_sched *s, uint64_t now, unsigned int events)
{
	uint64_t elapsed, window, rate;

	if (s->mode != IO_SCHED_AUTO)
		return s->mode == IO_SCHED_BATCH;
	if (!s->window_start)
		s->window_start = now;
	if (s->batch && now - s->last_event >= IO_SCHED_QUIET_WINDOW_NS) {
		s->batch = false;
		s->window_start = now;
		s->events = 0;
	}
	s->last_event = now;
	s->events += events;
	elapsed = now - s->window_start;
	window = s->batch ? IO_SCHED_QUIET_WINDOW_NS : IO_SCHED_BUSY_WINDOW_NS;
	if (elapsed < window)
		return s->batch;
	/* The window ends at its first event past the length: the rate is over
	 * the time up to that event, so a long silence counts as quiet. */
	rate = s->events * 1000000000ull / elapsed;
	if (!s->batch && rate >= IO_SCHED_BUSY_RATE)
		s->batch = true;
	else if (s->batch && rate < IO_SCHED_QUIET_RATE)
		s->batch = false;
	s->window_start = now;
	s->events = 0;
	return s->batch;
}

void io_sched_update(struct io_sched *s, unsigned int events, const char *name)
{
	struct sched_param param = { 0 };
	struct timespec ts;
	bool want;

	if (s->failed || s->mode == IO_SCHED_NORMAL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	want = io_sched_account(s, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec, events);
	if (want == s->applied)
		return;
	/* pid 0: this thread (the seccomp filter allows only that). */
	if (sched_setscheduler(0, want ? SCHED_BATCH : SCHED_OTHER, &param)) {
		log_debug("%s: cannot change the scheduling policy: %s", name, strerror(errno));
		s->failed = true;
		return;
	}
	s->applied = want;
}
