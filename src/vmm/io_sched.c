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
	s->backoff = IO_SCHED_BACKOFF_MIN_NS;
	if (env && !strcmp(env, "normal"))
		s->mode = IO_SCHED_NORMAL;
	else if (env && !strcmp(env, "batch"))
		s->mode = IO_SCHED_BATCH;
}

void io_sched_note_work(struct io_sched *s, unsigned int items)
{
	s->queue = s->by_items = true;
	__atomic_add_fetch(&s->items, items, __ATOMIC_RELAXED);
}

void io_sched_note_depth(struct io_sched *s, unsigned int inflight)
{
	s->queue = true;
	s->deep = inflight >= 2;
}

/* Leaves batching; a trial that failed waits out a growing backoff. */
static void stop_batch(struct io_sched *s, uint64_t now, bool failed_trial)
{
	s->batch = s->trial = false;
	if (failed_trial) {
		s->retry_at = now + s->backoff;
		if (s->backoff < IO_SCHED_BACKOFF_MAX_NS)
			s->backoff *= 2;
	}
}

bool io_sched_account(struct io_sched *s, uint64_t now, unsigned int events)
{
	uint64_t elapsed, rate;
	bool overlaps;

	if (s->mode != IO_SCHED_AUTO)
		return s->mode == IO_SCHED_BATCH;
	if (!s->window_start)
		s->window_start = now;
	if (s->batch && now - s->last_event >= IO_SCHED_QUIET_WINDOW_NS) {
		stop_batch(s, now, false);
		s->window_start = now;
		s->events = s->deep_events = 0;
		__atomic_store_n(&s->items, 0, __ATOMIC_RELAXED);
	}
	s->last_event = now;
	s->events += events;
	if (s->deep)
		s->deep_events += events;
	elapsed = now - s->window_start;
	/* Looked at every 100 ms, batched or not, so that a guest that starts
	 * waiting for each reply soon has the preempting wakeup back. */
	if (elapsed < IO_SCHED_BUSY_WINDOW_NS)
		return s->batch;
	/* The window ends at its first event past the length: the rate is over
	 * the time up to that event, so a long silence counts as quiet. */
	rate = s->events * 1000000000ull / elapsed;
	if (s->by_items)
		overlaps = __atomic_load_n(&s->items, __ATOMIC_RELAXED) >= 2 * s->events;
	else
		overlaps = 2 * s->deep_events > s->events;
	if (!s->batch && rate >= IO_SCHED_BUSY_RATE && s->queue && now >= s->retry_at) {
		/* Under the normal policy each request is served as it comes, so
		 * a deep queue only shows while batched: try, and look. */
		s->batch = true;
		s->trial = true;
	} else if (s->batch && (rate < IO_SCHED_QUIET_RATE || !overlaps)) {
		stop_batch(s, now, !overlaps);
	} else if (s->trial) {
		s->trial = false; /* it overlaps: stay */
		s->backoff = IO_SCHED_BACKOFF_MIN_NS;
	}
	s->window_start = now;
	s->events = s->deep_events = 0;
	__atomic_store_n(&s->items, 0, __ATOMIC_RELAXED);
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
