#define LOG_TAG "block"
/* The thread pool: blocking system calls off the I/O threads.  Workers take
 * requests from one list, run them with blk_exec_sync() and hand them back
 * to the ctx that submitted them, whose loop thread calls done(). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "block/block.h"
#include "vmm/log.h"
#include "vmm/thread.h"

struct blk_pool {
	struct blk_image *img;
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct blk_req *head, *tail;
	bool stop;
	unsigned int max_threads; /* started by blk_pool_start */
	unsigned int nr_threads;
	pthread_t threads[];
};

static void *worker(void *arg)
{
	struct blk_pool *pool = arg;

	for (;;) {
		struct blk_req *req;

		pthread_mutex_lock(&pool->lock);
		while (!pool->head && !pool->stop)
			pthread_cond_wait(&pool->work, &pool->lock);
		req = pool->head;
		if (!req) {
			pthread_mutex_unlock(&pool->lock);
			return NULL; /* stopping, and nothing left */
		}
		pool->head = req->next;
		if (!pool->head)
			pool->tail = NULL;
		pthread_mutex_unlock(&pool->lock);

		req->next = NULL;
		req->result = blk_exec_sync(pool->img, req);
		blk_ctx_complete_async(req->ctx, req);
	}
}

/* The workers start with the image's first ctx (blk_pool_start): an image
 * is opened before sardine confines itself, and threads started then would
 * stay outside its Landlock domain (vmm/landlock.h). */
int blk_pool_create(struct blk_image *img, unsigned int threads, struct blk_pool **out)
{
	struct blk_pool *pool = calloc(1, sizeof(*pool) + threads * sizeof(pthread_t));

	if (!pool)
		return -ENOMEM;
	pool->img = img;
	pool->max_threads = threads;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->work, NULL);
	*out = pool;
	return 0;
}

int blk_pool_start(struct blk_pool *pool)
{
	int ret = 0;

	for (; pool->nr_threads < pool->max_threads; pool->nr_threads++) {
		ret = thread_start(&pool->threads[pool->nr_threads], THREAD_STACK_IO, "blk-pool",
				   worker, pool);
		if (ret)
			break;
	}
	/* Fewer workers than asked for still serve. */
	return pool->nr_threads ? 0 : ret;
}

void blk_pool_destroy(struct blk_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	pool->stop = true;
	pthread_cond_broadcast(&pool->work);
	pthread_mutex_unlock(&pool->lock);
	for (unsigned int i = 0; i < pool->nr_threads; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->work);
	free(pool);
}

void blk_pool_queue(struct blk_pool *pool, struct blk_req *first, struct blk_req *last,
		    unsigned int count)
{
	last->next = NULL;
	pthread_mutex_lock(&pool->lock);
	if (pool->tail)
		pool->tail->next = first;
	else
		pool->head = first;
	pool->tail = last;
	/* Wake as many workers as there is work, no more. */
	if (count > 1)
		pthread_cond_broadcast(&pool->work);
	else
		pthread_cond_signal(&pool->work);
	pthread_mutex_unlock(&pool->lock);
}
