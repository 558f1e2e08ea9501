/* An epoll event loop run by one thread.
 *
 * Handlers are called on the loop's thread with the events that fired.  Other
 * threads may add or remove handlers; removal waits until the loop is not
 * inside that handler (see event_loop_del), so its opaque can then be freed. */
#ifndef SARDINE_EVENT_LOOP_H
#define SARDINE_EVENT_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/io_sched.h"

typedef void (*event_fn)(void *opaque, uint32_t events);

struct event_handler {
	int fd;
	event_fn fn;
	void *opaque;
	bool dead;
	struct event_handler *next;
};

struct event_loop {
	const char *name;
	int epfd;
	int wake_fd; /* eventfd: wakes the loop for stop or deferred frees */
	bool stop;
	pthread_t thread;
	bool thread_started;
	pthread_t runner; /* the thread inside event_loop_run */
	bool running;
	pthread_mutex_t lock; /* protects handlers list and `dispatching` */
	pthread_cond_t idle;
	struct event_handler *handlers;
	struct event_handler *graveyard; /* deleted, freed after the batch */
	struct event_handler *dispatching; /* handler running right now, if any */
	bool io_thread;        /* a device's thread: its policy adapts */
	struct io_sched sched; /* (vmm/io_sched.h), that thread's own */
};

int event_loop_init(struct event_loop *loop, const char *name);
void event_loop_destroy(struct event_loop *loop);

/* events: EPOLLIN / EPOLLOUT ...; level triggered. */
int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_fn fn, void *opaque);
int event_loop_mod(struct event_loop *loop, int fd, uint32_t events);
int event_loop_del(struct event_loop *loop, int fd);

/* Run on the calling thread until event_loop_stop. */
void event_loop_run(struct event_loop *loop);
/* Or on a thread of its own, named thread_name (NULL: the loop's name). */
int event_loop_start_thread(struct event_loop *loop, const char *thread_name);
void event_loop_stop(struct event_loop *loop);

#endif
