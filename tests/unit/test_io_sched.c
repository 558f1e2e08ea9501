/* The adaptive I/O thread policy (vmm/io_sched.h): when it batches, when it
 * goes back, and that the thread's policy really follows. */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "vmm/io_sched.h"

#define MS 1000000ull

static struct io_sched auto_sched(void)
{
	struct io_sched s;

	unsetenv("SARDINE_IO_SCHED");
	io_sched_init(&s);
	assert_int_equal(s.mode, IO_SCHED_AUTO);
	return s;
}

/* events spread evenly over ms milliseconds from *now, one call each, each
 * moving `frames` work items (virtio-net's frames). */
static bool feed_frames(struct io_sched *s, uint64_t *now, unsigned int events, uint64_t ms,
			unsigned int frames)
{
	bool batch = false;

	for (unsigned int i = 0; i < events; i++) {
		*now += ms * MS / events;
		io_sched_note_work(s, frames);
		batch = io_sched_account(s, *now, 1);
	}
	return batch;
}

/* A stream: several frames an event. */
static bool feed(struct io_sched *s, uint64_t *now, unsigned int events, uint64_t ms)
{
	return feed_frames(s, now, events, ms, 4);
}

static void a_stream_batches_and_quiet_ends_it(void **state)
{
	struct io_sched s = auto_sched();
	uint64_t now = 1000 * MS;

	(void)state;
	/* 2000 events a second: busy once a window has passed. */
	assert_false(feed(&s, &now, 100, 50));
	assert_true(feed(&s, &now, 200, 100));
	/* Batching lowers the rate; 200 a second is not quiet. */
	assert_true(feed(&s, &now, 400, 2000));
	/* 50 a second for two windows: quiet. */
	assert_false(feed(&s, &now, 100, 2000));
}

static void pings_never_batch(void **state)
{
	struct io_sched s = auto_sched();
	uint64_t now = 1000 * MS;

	(void)state;
	/* Ten a second, and a burst of 50 after a long silence. */
	assert_false(feed(&s, &now, 100, 10000));
	now += 60000 * MS;
	assert_false(feed(&s, &now, 50, 20));
	assert_false(feed(&s, &now, 10, 1000));
}

static void a_silence_ends_batching_at_the_next_event(void **state)
{
	struct io_sched s = auto_sched();
	uint64_t now = 1000 * MS;

	(void)state;
	assert_true(feed(&s, &now, 1000, 300));
	now += 5000 * MS;
	assert_false(io_sched_account(&s, now, 1));
}

/* A device that says nothing (virtio-9p) is never batched, however busy. */
static void a_loop_without_a_stream_never_batches(void **state)
{
	struct io_sched s;
	uint64_t now = 1000 * MS;

	(void)state;
	unsetenv("SARDINE_IO_SCHED");
	io_sched_init(&s);
	for (int i = 0; i < 5000; i++) {
		now += 200000;
		assert_false(io_sched_account(&s, now, 1));
	}
}

/* virtio-net: request/response, one frame an event at 2500 events a
 * second, is tried and dropped; a stream among the same events keeps it. */
static void one_frame_an_event_is_not_a_stream(void **state)
{
	struct io_sched s = auto_sched();
	uint64_t now = 1000 * MS;
	unsigned int batched = 0;

	(void)state;
	for (int i = 0; i < 2500; i++)
		batched += feed_frames(&s, &now, 1, 1, 1) ? 1 : 0;
	/* One 100 ms trial a backoff (1 s, 2 s) in 2.5 s: two at most. */
	assert_in_range(batched, 200, 550);
	assert_false(s.batch);
	feed_frames(&s, &now, 2500, 1000, 3);
	assert_true(feed_frames(&s, &now, 500, 200, 3));
}

/* events spread over ms, the device noting `inflight` before each; how
 * many of them were handled batched. */
static unsigned int feed_depth(struct io_sched *s, uint64_t *now, unsigned int events, uint64_t ms,
			       unsigned int inflight)
{
	unsigned int batched = 0;

	for (unsigned int i = 0; i < events; i++) {
		*now += ms * MS / events;
		io_sched_note_depth(s, inflight);
		batched += io_sched_account(s, *now, 1);
	}
	return batched;
}

/* virtio-blk: a busy queue is batched for a trial; a deep one stays so.
 * One request at a time (the guest waits for each) goes back at the end
 * of the trial and is tried again only after a growing backoff. */
static void a_queue_is_tried_and_kept_only_when_deep(void **state)
{
	struct io_sched s;
	uint64_t now = 1000 * MS;

	(void)state;
	unsetenv("SARDINE_IO_SCHED");
	io_sched_init(&s);
	/* 5000 a second, one in flight: a 100 ms trial after the first window. */
	assert_in_range(feed_depth(&s, &now, 1500, 300, 1), 400, 600);
	assert_false(s.batch);
	/* Busy still, but waiting out 1 s: no batching. */
	assert_int_equal(feed_depth(&s, &now, 4000, 800, 1), 0);
	/* Then a second trial, and a 2 s wait. */
	assert_in_range(feed_depth(&s, &now, 2000, 400, 1), 400, 600);
	assert_int_equal(feed_depth(&s, &now, 9000, 1800, 1), 0);
	/* The guest queues deeper: the next trial keeps batching. */
	feed_depth(&s, &now, 3000, 600, 32);
	assert_true(s.batch);
	assert_int_equal(feed_depth(&s, &now, 5000, 1000, 32), 5000);
	/* Back to one at a time while busy: normal after one 100 ms window. */
	assert_in_range(feed_depth(&s, &now, 2500, 500, 1), 400, 600);
	assert_false(s.batch);
}

static void environment_forces_a_mode(void **state)
{
	struct io_sched s;
	uint64_t now = 1000 * MS;

	(void)state;
	setenv("SARDINE_IO_SCHED", "normal", 1);
	io_sched_init(&s);
	assert_false(feed(&s, &now, 5000, 100));
	setenv("SARDINE_IO_SCHED", "batch", 1);
	io_sched_init(&s);
	assert_true(io_sched_account(&s, now, 1));
	unsetenv("SARDINE_IO_SCHED");
}

/* The calling thread's policy follows what io_sched_update decides. */
static void the_thread_policy_follows(void **state)
{
	struct io_sched s;
	struct sched_param p = { 0 };

	(void)state;
	setenv("SARDINE_IO_SCHED", "batch", 1);
	io_sched_init(&s);
	io_sched_update(&s, 1, "test");
	assert_int_equal(sched_getscheduler(0), SCHED_BATCH);
	s.mode = IO_SCHED_AUTO; /* a long silence in auto mode: back to normal */
	s.batch = true;
	s.window_start = 1;
	io_sched_update(&s, 1, "test");
	assert_int_equal(sched_getscheduler(0), SCHED_OTHER);
	assert_false(s.failed);
	unsetenv("SARDINE_IO_SCHED");
	sched_setscheduler(0, SCHED_OTHER, &p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_stream_batches_and_quiet_ends_it),
		cmocka_unit_test(pings_never_batch),
		cmocka_unit_test(a_silence_ends_batching_at_the_next_event),
		cmocka_unit_test(a_loop_without_a_stream_never_batches),
		cmocka_unit_test(one_frame_an_event_is_not_a_stream),
		cmocka_unit_test(a_queue_is_tried_and_kept_only_when_deep),
		cmocka_unit_test(environment_forces_a_mode),
		cmocka_unit_test(the_thread_policy_follows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
