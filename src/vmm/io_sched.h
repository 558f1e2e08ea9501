/* Adaptive scheduling of an I/O thread: SCHED_BATCH while its device
 * streams, the normal policy otherwise.
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
 * free CPU for the thread, neither policy delays it. */
#ifndef SARDINE_IO_SCHED_H
#define SARDINE_IO_SCHED_H

#include <stdbool.h>
#include <stdint.h>

/* Busy: at least IO_SCHED_BUSY_RATE events a second over a window of
 * IO_SCHED_BUSY_WINDOW_NS; quiet again: under IO_SCHED_QUIET_RATE over
 * IO_SCHED_QUIET_WINDOW_NS.  The gap between the two rates is hysteresis:
 * batching itself lowers the event rate (several frames per wakeup). */
#define IO_SCHED_BUSY_RATE 1000
#define IO_SCHED_BUSY_WINDOW_NS 100000000ull
#define IO_SCHED_QUIET_RATE 100
#define IO_SCHED_QUIET_WINDOW_NS 1000000000ull

enum io_sched_mode {
	IO_SCHED_AUTO,   /* the default: batch while busy */
	IO_SCHED_NORMAL, /* never batch (SARDINE_IO_SCHED=normal) */
	IO_SCHED_BATCH,  /* always batch (SARDINE_IO_SCHED=batch) */
};

struct io_sched {
	enum io_sched_mode mode;
	bool batch;            /* busy: the thread should run batched */
	bool applied;          /* the policy it runs under (true: batch) */
	bool failed;           /* the kernel refused a change: stop trying */
	uint64_t window_start; /* ns, CLOCK_MONOTONIC */
	uint64_t events;       /* in this window */
	uint64_t last_event;   /* ns: a silence as long as a quiet window
				* ends batching at once */
};

/* mode from SARDINE_IO_SCHED (auto, normal, batch; unset: auto). */
void io_sched_init(struct io_sched *s);
/* Counts `events` handled at `now` (ns); returns whether the thread should
 * run batched from now on.  Pure: no system call. */
bool io_sched_account(struct io_sched *s, uint64_t now, unsigned int events);
/* On the I/O thread itself: account, and switch its policy if that
 * changed.  Cheap when nothing changes (one clock read). */
void io_sched_update(struct io_sched *s, unsigned int events, const char *name);

#endif
