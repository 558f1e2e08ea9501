#define LOG_TAG "loop"
#include "vmm/event_loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/thread.h"

static void drain_wake(void *opaque, uint32_t events)
{
	struct event_loop *loop = opaque;
	uint64_t v;

	if (read(loop->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("%s: wake read: %s", loop->name, strerror(errno));
}

int event_loop_init(struct event_loop *loop, const char *name)
{
	int ret;

	memset(loop, 0, sizeof(*loop));
	loop->name = name;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		return -errno;
	loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->wake_fd < 0) {
		ret = -errno;
		goto err_epoll;
	}
	pthread_mutex_init(&loop->lock, NULL);
	pthread_cond_init(&loop->idle, NULL);
	ret = event_loop_add(loop, loop->wake_fd, EPOLLIN, drain_wake, loop);
	if (ret)
		goto err_wake;
	return 0;

err_wake:
	close(loop->wake_fd);
err_epoll:
	close(loop->epfd);
	return ret;
}

static void free_graveyard_locked(struct event_loop *loop)
{
	struct event_handler *h, *next;

	for (h = loop->graveyard; h; h = next) {
		next = h->next;
		free(h);
	}
	loop->graveyard = NULL;
}

void event_loop_destroy(struct event_loop *loop)
{
	struct event_handler *h, *next;

	event_loop_stop(loop);
	for (h = loop->handlers; h; h = next) {
		next = h->next;
		free(h);
	}
	loop->handlers = NULL;
	free_graveyard_locked(loop);
	close(loop->wake_fd);
	close(loop->epfd);
	pthread_mutex_destroy(&loop->lock);
	pthread_cond_destroy(&loop->idle);
}

int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_fn fn, void *opaque)
{
	struct event_handler *h = calloc(1, sizeof(*h));
	struct epoll_event ev = { .events = events };

	if (!h)
		return -ENOMEM;
	h->fd = fd;
	h->fn = fn;
	h->opaque = opaque;
	ev.data.ptr = h;
	pthread_mutex_lock(&loop->lock);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		pthread_mutex_unlock(&loop->lock);
		free(h);
		return err;
	}
	h->next = loop->handlers;
	loop->handlers = h;
	pthread_mutex_unlock(&loop->lock);
	return 0;
}

static struct event_handler *find_locked(struct event_loop *loop, int fd)
{
	for (struct event_handler *h = loop->handlers; h; h = h->next)
		if (h->fd == fd && !h->dead)
			return h;
	return NULL;
}

int event_loop_mod(struct event_loop *loop, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };
	struct event_handler *h;
	int ret = 0;

	pthread_mutex_lock(&loop->lock);
	h = find_locked(loop, fd);
	if (!h) {
		ret = -ENOENT;
	} else {
		ev.data.ptr = h;
		if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
			ret = -errno;
	}
	pthread_mutex_unlock(&loop->lock);
	return ret;
}

int event_loop_del(struct event_loop *loop, int fd)
{
	struct event_handler *h, **pp;
	bool self = __atomic_load_n(&loop->running, __ATOMIC_ACQUIRE) &&
		    pthread_equal(pthread_self(), loop->runner);

	pthread_mutex_lock(&loop->lock);
	h = find_locked(loop, fd);
	if (!h) {
		pthread_mutex_unlock(&loop->lock);
		return -ENOENT;
	}
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	h->dead = true;
	/* From another thread: wait until the handler is not running, so the
	 * caller may free what it points to once we return. */
	while (!self && loop->dispatching == h)
		pthread_cond_wait(&loop->idle, &loop->lock);
	for (pp = &loop->handlers; *pp; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	}
	/* The current epoll_wait batch may still point at h: it is freed when
	 * the batch ends (or at destroy), never here. */
	h->next = loop->graveyard;
	loop->graveyard = h;
	pthread_mutex_unlock(&loop->lock);
	return 0;
}

void event_loop_run(struct event_loop *loop)
{
	struct epoll_event events[32];

	loop->runner = pthread_self();
	__atomic_store_n(&loop->running, true, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&loop->stop, __ATOMIC_ACQUIRE)) {
		int n = epoll_wait(loop->epfd, events, 32, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("%s: epoll_wait: %s", loop->name, strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			struct event_handler *h = events[i].data.ptr;

			pthread_mutex_lock(&loop->lock);
			if (h->dead) {
				pthread_mutex_unlock(&loop->lock);
				continue;
			}
			loop->dispatching = h;
			pthread_mutex_unlock(&loop->lock);

			h->fn(h->opaque, events[i].events);

			pthread_mutex_lock(&loop->lock);
			loop->dispatching = NULL;
			pthread_cond_broadcast(&loop->idle);
			pthread_mutex_unlock(&loop->lock);
		}
		pthread_mutex_lock(&loop->lock);
		free_graveyard_locked(loop);
		pthread_mutex_unlock(&loop->lock);
		if (loop->io_thread)
			io_sched_update(&loop->sched, (unsigned int)n, loop->name);
	}
	__atomic_store_n(&loop->running, false, __ATOMIC_RELEASE);
	/* Ready to run again (the control loop runs once per boot). */
	__atomic_store_n(&loop->stop, false, __ATOMIC_RELEASE);
}

static void *loop_thread(void *arg)
{
	event_loop_run(arg);
	return NULL;
}

int event_loop_start_thread(struct event_loop *loop, const char *thread_name)
{
	int ret;

	loop->io_thread = true;
	io_sched_init(&loop->sched);
	ret = thread_start(&loop->thread, THREAD_STACK_IO, thread_name ? thread_name : loop->name,
			   loop_thread, loop);

	if (ret)
		return ret;
	loop->thread_started = true;
	return 0;
}

void event_loop_stop(struct event_loop *loop)
{
	uint64_t one = 1;

	__atomic_store_n(&loop->stop, true, __ATOMIC_RELEASE);
	if (write(loop->wake_fd, &one, sizeof(one)) < 0)
		log_debug("%s: wake: %s", loop->name, strerror(errno));
	if (loop->thread_started && !pthread_equal(pthread_self(), loop->thread)) {
		pthread_join(loop->thread, NULL);
		loop->thread_started = false;
	}
}
