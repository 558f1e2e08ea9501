/* Adaptive scheduling of an I/O thread: SCHED_BATCH while its device's
 * work overlaps the guest's, the normal policy otherwise.
 *
 * Why: a thread woken under the normal policy preempts whatever runs on
 * its CPU.  Where a device's I/O thread shares a CPU with the guest's vCPU
 * (an overcommitted host: the dense packing sardine is for), every frame
 * or kick then costs a preemption, a VM exit and, once handled, an
 * interrupt for one frame: the guest spends its time entering and leaving
 * interrupt handlers.  Under SCHED_BATCH the woken thread does not preempt
 * (the kernel's wakeup preemption skips batch tasks); it runs when the vCPU
 * halts or its time slice ends, and then takes the whole batch with one
 * interrupt.  Measured in the box (one CPU): 4-5x the TCP throughput and a
 * quarter of the CPU per GiB (bench/results/net.md).
 * The cost: a packet that arrives while a busy vCPU holds the CPU waits up
 * to a scheduler tick.  So batch only while the thread is busy (a stream),
 * and back to the normal policy soon after it quiets: a lone ping or a
 * request at a modest rate keeps the preempting wakeup.  On a host with a
 * free CPU for the thread, neither policy delays it.
 *
 * Only work that overlaps gains: a guest that waits for each reply before
 * it makes the next request (a 9P walk, a disk read at queue depth 1, a
 * TCP request/response) loses the time the preempting wakeup would have
 * overlapped with the guest's own (25-37% in the box; request/response
 * over the network 25% with the guest idle, 55-65% with it busy).  So a
 * device says what its work looks like: how deep its queue is (virtio-blk:
 * io_sched_note_depth) or how many frames each event moves (virtio-net:
 * io_sched_note_work).  That only shows while batched: under the normal
 * policy the thread takes each request or frame as it comes, so the guest
 * never gets to queue a second.  So a busy loop is batched for a 100 ms
 * trial and stays so only while most events see two or more requests in
 * flight (or events move two frames or more on average); after a failed
 * trial it waits 1 s, then 2, then 4 s before the next (a trial of work
 * that does not overlap costs ~100 ms at its slower pace every few
 * seconds).  A loop whose device notes neither (virtio-9p, whose requests
 * come one at a time to each loop; rng, console, balloon) keeps the normal
 * policy. */
#ifndef SARDINE_IO_SCHED_H
#define SARDINE_IO_SCHED_H

#include <stdbool.h>
#include <stdint.h>

/* Busy: at least IO_SCHED_BUSY_RATE events a second over a window of
 * IO_SCHED_BUSY_WINDOW_NS; quiet again: under IO_SCHED_QUIET_RATE over such
 * a window, or no event for IO_SCHED_QUIET_WINDOW_NS.  The gap between the
 * two rates is hysteresis: batching itself lowers the event rate (several
 * frames per wakeup). */
#define IO_SCHED_BUSY_RATE 1000
#define IO_SCHED_BUSY_WINDOW_NS 100000000ull
#define IO_SCHED_QUIET_RATE 100
#define IO_SCHED_QUIET_WINDOW_NS 1000000000ull
/* A queue that did not overlap when batched is tried again after a backoff
 * that doubles with each failed trial. */
#define IO_SCHED_BACKOFF_MIN_NS 1000000000ull
#define IO_SCHED_BACKOFF_MAX_NS 4000000000ull

enum io_sched_mode {
	IO_SCHED_AUTO,   /* the default: batch while busy */
	IO_SCHED_NORMAL, /* never batch (SARDINE_IO_SCHED=normal) */
	IO_SCHED_BATCH,  /* always batch (SARDINE_IO_SCHED=batch) */
};

struct io_sched {
	enum io_sched_mode mode;
	bool queue;            /* the device notes its depth or work: trials */
	bool by_items;         /* it notes work items (io_sched_note_work) */
	bool deep;             /* the device's last depth note: >= 2 in flight */
	bool batch;            /* busy: the thread should run batched */
	bool trial;            /* batched for a window to see the queue's depth */
	bool applied;          /* the policy it runs under (true: batch) */
	bool failed;           /* the kernel refused a change: stop trying */
	uint64_t window_start; /* ns, CLOCK_MONOTONIC */
	uint64_t events;       /* in this window */
	uint64_t deep_events;  /* of those, counted while `deep` */
	uint64_t items;        /* atomic: work items noted in this window */
	uint64_t retry_at;     /* ns: no trial before (a trial failed) */
	uint64_t backoff;      /* ns: the next failed trial's wait */
	uint64_t last_event;   /* ns: a silence as long as a quiet window
				* ends batching at once */
};

/* mode from SARDINE_IO_SCHED (auto, normal, batch; unset: auto). */
void io_sched_init(struct io_sched *s);
/* On the loop's own thread: how many requests the device has in flight
 * now; batching needs most of a window's events to see two or more. */
void io_sched_note_depth(struct io_sched *s, unsigned int inflight);
/* Work items (frames) an event handled; batching needs two or more an
 * event over a window: a stream, not a request/response exchange. */
void io_sched_note_work(struct io_sched *s, unsigned int items);
/* Counts `events` handled at `now` (ns); returns whether the thread should
 * run batched from now on.  Pure: no system call. */
bool io_sched_account(struct io_sched *s, uint64_t now, unsigned int events);
/* On the I/O thread itself: account, and switch its policy if that
 * changed.  Cheap when nothing changes (one clock read). */
void io_sched_update(struct io_sched *s, unsigned int events, const char *name);

#endif
