/* The fid table: the guest's handles, each an O_PATH descriptor.
 *
 * A hash table under one mutex; lookups take a reference, so a fid clunked
 * by one request while another still uses it lives until the last user
 * lets go, and its descriptors are closed exactly once.  The table holds at
 * most `max` fids: past that, attach/walk/xattrwalk fail with EMFILE, which
 * bounds the descriptors (two a fid) and memory the guest can pin. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "9p/internal.h"

int p9_fids_init(struct p9_fid_table *t, unsigned int max)
{
	unsigned int n = 256;

	while (n < max / 2 && n < (1u << 16))
		n <<= 1;
	t->bucket = calloc(n, sizeof(*t->bucket));
	if (!t->bucket)
		return -ENOMEM;
	t->nbuckets = n;
	t->count = 0;
	t->max = max;
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

void p9_fids_destroy(struct p9_server *s, struct p9_fid_table *t)
{
	if (!t->bucket)
		return;
	p9_fids_clear(s, t);
	free(t->bucket);
	t->bucket = NULL;
	pthread_mutex_destroy(&t->lock);
}

static unsigned int hash(const struct p9_fid_table *t, uint32_t id)
{
	return (id * 2654435761u) & (t->nbuckets - 1);
}

struct p9_fid *p9_fid_new(uint32_t id, int fd, mode_t type, uint32_t uid)
{
	struct p9_fid *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->id = id;
	f->refs = 1;
	f->kind = P9_FID_FILE;
	f->fd = fd;
	f->open_fd = -1;
	f->type = type;
	f->uid = uid;
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

static void fid_free(struct p9_server *s, struct p9_fid *f)
{
	p9_xattr_release(s, f);
	if (f->open_fd >= 0 && f->open_fd != f->fd)
		close(f->open_fd);
	if (f->fd >= 0)
		close(f->fd);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

void p9_fid_put(struct p9_server *s, struct p9_fid *f)
{
	if (f && __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0)
		fid_free(s, f);
}

static struct p9_fid **find_locked(struct p9_fid_table *t, uint32_t id)
{
	struct p9_fid **pp = &t->bucket[hash(t, id)];

	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

int p9_fid_insert(struct p9_fid_table *t, struct p9_fid *f, bool replace, struct p9_server *s)
{
	struct p9_fid **pp, *old = NULL;

	pthread_mutex_lock(&t->lock);
	pp = find_locked(t, f->id);
	if (*pp && !replace) {
		pthread_mutex_unlock(&t->lock);
		return -EBADF;
	}
	if (!*pp && t->count >= t->max) {
		pthread_mutex_unlock(&t->lock);
		return -EMFILE;
	}
	if (*pp) {
		old = *pp;
		f->next = old->next;
	} else {
		f->next = NULL;
		t->count++;
	}
	*pp = f;
	pthread_mutex_unlock(&t->lock);
	p9_fid_put(s, old);
	return 0;
}

struct p9_fid *p9_fid_get(struct p9_fid_table *t, uint32_t id)
{
	struct p9_fid *f;

	pthread_mutex_lock(&t->lock);
	f = *find_locked(t, id);
	if (f)
		__atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&t->lock);
	return f;
}

struct p9_fid *p9_fid_remove(struct p9_fid_table *t, uint32_t id)
{
	struct p9_fid **pp, *f;

	pthread_mutex_lock(&t->lock);
	pp = find_locked(t, id);
	f = *pp;
	if (f) {
		*pp = f->next;
		f->next = NULL;
		t->count--;
	}
	pthread_mutex_unlock(&t->lock);
	return f;
}

void p9_fids_clear(struct p9_server *s, struct p9_fid_table *t)
{
	struct p9_fid *list = NULL;

	/* Unhook everything under the lock, free outside it. */
	pthread_mutex_lock(&t->lock);
	for (unsigned int i = 0; i < t->nbuckets; i++) {
		while (t->bucket[i]) {
			struct p9_fid *f = t->bucket[i];

			t->bucket[i] = f->next;
			f->next = list;
			list = f;
		}
	}
	t->count = 0;
	pthread_mutex_unlock(&t->lock);
	while (list) {
		struct p9_fid *f = list;

		list = f->next;
		p9_fid_put(s, f);
	}
}
