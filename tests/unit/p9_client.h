/* A tiny 9P2000.L client for the unit tests: builds requests in a buffer,
 * hands them to the server as (optionally fragmented) iovecs, and decodes
 * replies.  Header-only so each test binary stays one file. */
#ifndef SARDINE_TEST_P9_CLIENT_H
#define SARDINE_TEST_P9_CLIENT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "9p/p9.h"
#include "9p/proto.h"

struct tmsg {
	uint8_t b[1 << 20];
	size_t len;
};

struct tclient {
	struct p9_server *s;
	struct p9_worker *w;
	struct tmsg req;
	uint8_t reply[1 << 20];
	uint32_t reply_len;
	size_t reply_cap;  /* room offered for the reply (default: all) */
	size_t frag;       /* split buffers into pieces of this size (0: one) */
	size_t rpos;       /* decoding position in reply */
};

static inline void t_begin(struct tclient *c, uint8_t type, uint16_t tag)
{
	c->req.len = 7;
	c->req.b[4] = type;
	c->req.b[5] = (uint8_t)tag;
	c->req.b[6] = (uint8_t)(tag >> 8);
}

static inline void t_put(struct tclient *c, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		c->req.b[c->req.len++] = (uint8_t)(v >> (8 * i));
}

static inline void t_str(struct tclient *c, const char *s)
{
	size_t n = strlen(s);

	t_put(c, n, 2);
	memcpy(c->req.b + c->req.len, s, n);
	c->req.len += n;
}

static inline unsigned int t_split(uint8_t *base, size_t len, size_t frag, struct iovec *iov,
				   unsigned int max)
{
	unsigned int n = 0;

	if (!frag)
		frag = len ? len : 1;
	for (size_t off = 0; off < len && n < max; off += frag) {
		iov[n].iov_base = base + off;
		iov[n].iov_len = len - off < frag ? len - off : frag;
		n++;
	}
	return n;
}

/* Sends the request with its size field as built (or forced by size). */
static inline uint8_t t_send_raw(struct tclient *c, int64_t size)
{
	static struct iovec iov[2048];
	struct p9_msg m;
	uint32_t sz = size < 0 ? (uint32_t)c->req.len : (uint32_t)size;
	size_t cap = c->reply_cap ? c->reply_cap : sizeof(c->reply);

	memcpy(c->req.b, &sz, 4);
	m.out = iov;
	m.out_num = t_split(c->req.b, c->req.len, c->frag, iov, 1024);
	m.out_len = c->req.len;
	m.in = iov + m.out_num;
	m.in_num = t_split(c->reply, cap, c->frag, iov + m.out_num, 1024);
	m.in_len = 0;
	for (unsigned int i = 0; i < m.in_num; i++)
		m.in_len += iov[m.out_num + i].iov_len;
	memset(c->reply, 0xa5, 64);
	c->reply_len = p9_handle(c->s, c->w, &m);
	c->rpos = 7;
	return c->reply_len >= 7 ? c->reply[4] : 0;
}

static inline uint8_t t_send(struct tclient *c)
{
	return t_send_raw(c, -1);
}

static inline uint64_t t_get(struct tclient *c, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)c->reply[c->rpos + i] << (8 * i);
	c->rpos += n;
	return v;
}

/* The errno of an Rlerror reply, 0 for any other reply. */
static inline int t_err(struct tclient *c)
{
	if (c->reply_len < 11 || c->reply[4] != P9_RLERROR)
		return 0;
	return (int)(c->reply[7] | c->reply[8] << 8 | c->reply[9] << 16 | (uint32_t)c->reply[10] << 24);
}

static inline uint16_t t_reply_tag(struct tclient *c)
{
	return (uint16_t)(c->reply[5] | c->reply[6] << 8);
}

/* ---- common requests ---- */

static inline int t_version(struct tclient *c, uint32_t msize)
{
	t_begin(c, P9_TVERSION, P9_NOTAG);
	t_put(c, msize, 4);
	t_str(c, "9P2000.L");
	return t_send(c) == P9_RVERSION ? 0 : -t_err(c);
}

static inline int t_attach(struct tclient *c, uint32_t fid, uint32_t uid)
{
	t_begin(c, P9_TATTACH, 1);
	t_put(c, fid, 4);
	t_put(c, P9_NOFID, 4);
	t_str(c, "root");
	t_str(c, "");
	t_put(c, uid, 4);
	return t_send(c) == P9_RATTACH ? 0 : -t_err(c);
}

/* Walks names (NULL-terminated); returns the number of qids, or -errno. */
static inline int t_walk(struct tclient *c, uint32_t fid, uint32_t newfid, const char *const *names)
{
	int n = 0;

	while (names && names[n])
		n++;
	t_begin(c, P9_TWALK, 2);
	t_put(c, fid, 4);
	t_put(c, newfid, 4);
	t_put(c, (uint64_t)n, 2);
	for (int i = 0; i < n; i++)
		t_str(c, names[i]);
	if (t_send(c) != P9_RWALK)
		return -t_err(c);
	return (int)t_get(c, 2);
}

static inline int t_walk1(struct tclient *c, uint32_t fid, uint32_t newfid, const char *name)
{
	const char *names[] = { name, NULL };
	int n = t_walk(c, fid, newfid, name ? names : NULL);

	return n < 0 ? n : 0;
}

static inline int t_clunk(struct tclient *c, uint32_t fid)
{
	t_begin(c, P9_TCLUNK, 3);
	t_put(c, fid, 4);
	return t_send(c) == P9_RCLUNK ? 0 : -t_err(c);
}

static inline int t_lopen(struct tclient *c, uint32_t fid, uint32_t flags)
{
	t_begin(c, P9_TLOPEN, 4);
	t_put(c, fid, 4);
	t_put(c, flags, 4);
	return t_send(c) == P9_RLOPEN ? 0 : -t_err(c);
}

static inline int t_lcreate(struct tclient *c, uint32_t fid, const char *name, uint32_t flags,
			    uint32_t mode, uint32_t gid)
{
	t_begin(c, P9_TLCREATE, 5);
	t_put(c, fid, 4);
	t_str(c, name);
	t_put(c, flags, 4);
	t_put(c, mode, 4);
	t_put(c, gid, 4);
	return t_send(c) == P9_RLCREATE ? 0 : -t_err(c);
}

static inline int t_write(struct tclient *c, uint32_t fid, uint64_t off, const void *data,
			  uint32_t len)
{
	t_begin(c, P9_TWRITE, 6);
	t_put(c, fid, 4);
	t_put(c, off, 8);
	t_put(c, len, 4);
	memcpy(c->req.b + c->req.len, data, len);
	c->req.len += len;
	if (t_send(c) != P9_RWRITE)
		return -t_err(c);
	return (int)t_get(c, 4);
}

/* Reads into buf; returns the count or -errno. */
static inline int t_read(struct tclient *c, uint32_t fid, uint64_t off, void *buf, uint32_t len)
{
	uint32_t n;

	t_begin(c, P9_TREAD, 7);
	t_put(c, fid, 4);
	t_put(c, off, 8);
	t_put(c, len, 4);
	if (t_send(c) != P9_RREAD)
		return -t_err(c);
	n = (uint32_t)t_get(c, 4);
	memcpy(buf, c->reply + 11, n);
	return (int)n;
}

struct tattr {
	uint8_t qtype;
	uint64_t qpath;
	uint32_t mode, uid, gid;
	uint64_t nlink, rdev, size;
};

static inline int t_getattr(struct tclient *c, uint32_t fid, struct tattr *a)
{
	t_begin(c, P9_TGETATTR, 8);
	t_put(c, fid, 4);
	t_put(c, P9_GETATTR_BASIC, 8);
	if (t_send(c) != P9_RGETATTR)
		return -t_err(c);
	t_get(c, 8);
	a->qtype = (uint8_t)t_get(c, 1);
	t_get(c, 4);
	a->qpath = t_get(c, 8);
	a->mode = (uint32_t)t_get(c, 4);
	a->uid = (uint32_t)t_get(c, 4);
	a->gid = (uint32_t)t_get(c, 4);
	a->nlink = t_get(c, 8);
	a->rdev = t_get(c, 8);
	a->size = t_get(c, 8);
	return 0;
}

#endif
