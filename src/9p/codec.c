/* 9P message encoding and decoding.
 *
 * Decoding reads a private copy of the request (the guest may rewrite its
 * buffers while we look), so a value checked is the value used.  A decoder
 * never reads past the message: every get checks the remaining length and,
 * on a short message, sets err and returns zeros, so an op can decode all
 * its fields and test err once.  Encoding writes into the guest's reply
 * buffers through a cursor, never past the smaller of their length and the
 * negotiated msize. */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "9p/internal.h"

void p9_in_init(struct p9_in *in, const uint8_t *buf, uint32_t len, char *arena,
		size_t arena_len)
{
	in->buf = buf;
	in->len = len;
	in->off = 0;
	in->arena = arena;
	in->arena_len = arena_len;
	in->arena_off = 0;
	in->err = 0;
}

static const uint8_t *take(struct p9_in *in, uint32_t n)
{
	const uint8_t *p;

	if (in->err || n > in->len - in->off) {
		in->err = -EINVAL;
		return NULL;
	}
	p = in->buf + in->off;
	in->off += n;
	return p;
}

uint8_t p9_get8(struct p9_in *in)
{
	const uint8_t *p = take(in, 1);

	return p ? *p : 0;
}

uint16_t p9_get16(struct p9_in *in)
{
	const uint8_t *p = take(in, 2);
	uint16_t v;

	if (!p)
		return 0;
	memcpy(&v, p, 2);
	return le16toh(v);
}

uint32_t p9_get32(struct p9_in *in)
{
	const uint8_t *p = take(in, 4);
	uint32_t v;

	if (!p)
		return 0;
	memcpy(&v, p, 4);
	return le32toh(v);
}

uint64_t p9_get64(struct p9_in *in)
{
	const uint8_t *p = take(in, 8);
	uint64_t v;

	if (!p)
		return 0;
	memcpy(&v, p, 8);
	return le64toh(v);
}

const char *p9_get_str(struct p9_in *in, size_t max)
{
	uint16_t len = p9_get16(in);
	const uint8_t *p;
	char *s;

	if (in->err)
		return NULL;
	if (len > max) {
		in->err = -ENAMETOOLONG;
		return NULL;
	}
	p = take(in, len);
	if (!p)
		return NULL;
	if (memchr(p, '\0', len) || (size_t)len + 1 > in->arena_len - in->arena_off) {
		in->err = -EINVAL;
		return NULL;
	}
	s = in->arena + in->arena_off;
	memcpy(s, p, len);
	s[len] = '\0';
	in->arena_off += (size_t)len + 1;
	return s;
}

void p9_out_init(struct p9_out *o, const struct iovec *iov, unsigned int n, size_t cap)
{
	o->iov = iov;
	o->n = n;
	o->idx = 0;
	o->off = 0;
	o->pos = 0;
	o->cap = cap;
	o->overflow = false;
}

void p9_out_seek(struct p9_out *o, size_t pos)
{
	o->idx = 0;
	o->off = 0;
	o->pos = 0;
	o->overflow = false;
	/* Skip whole buffers, then land inside one. */
	while (o->idx < o->n && pos >= o->iov[o->idx].iov_len - o->off) {
		pos -= o->iov[o->idx].iov_len - o->off;
		o->pos += o->iov[o->idx].iov_len - o->off;
		o->idx++;
		o->off = 0;
	}
	o->off += pos;
	o->pos += pos;
	if (o->pos > o->cap)
		o->overflow = true;
}

void p9_put_bytes(struct p9_out *o, const void *p, size_t len)
{
	const uint8_t *src = p;

	if (o->overflow || len > o->cap - o->pos) {
		o->overflow = true;
		return;
	}
	while (len) {
		size_t room, c;

		if (o->idx >= o->n) {
			o->overflow = true;
			return;
		}
		room = o->iov[o->idx].iov_len - o->off;
		if (room == 0) {
			o->idx++;
			o->off = 0;
			continue;
		}
		c = len < room ? len : room;
		memcpy((uint8_t *)o->iov[o->idx].iov_base + o->off, src, c);
		src += c;
		len -= c;
		o->off += c;
		o->pos += c;
	}
}

void p9_put8(struct p9_out *o, uint8_t v)
{
	p9_put_bytes(o, &v, 1);
}

void p9_put16(struct p9_out *o, uint16_t v)
{
	v = htole16(v);
	p9_put_bytes(o, &v, 2);
}

void p9_put32(struct p9_out *o, uint32_t v)
{
	v = htole32(v);
	p9_put_bytes(o, &v, 4);
}

void p9_put64(struct p9_out *o, uint64_t v)
{
	v = htole64(v);
	p9_put_bytes(o, &v, 8);
}

void p9_put_str(struct p9_out *o, const char *s, size_t len)
{
	if (len > UINT16_MAX) {
		o->overflow = true;
		return;
	}
	p9_put16(o, (uint16_t)len);
	p9_put_bytes(o, s, len);
}

void p9_put_qid(struct p9_out *o, const struct p9_qid *q)
{
	p9_put8(o, q->type);
	p9_put32(o, q->version);
	p9_put64(o, q->path);
}

int p9_iov_slice(const struct iovec *iov, unsigned int n, size_t skip, size_t len,
		 struct iovec *dst, unsigned int max, unsigned int *out_n)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n && len; i++) {
		size_t l = iov[i].iov_len, c;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		if (k == max)
			return -E2BIG;
		c = l - skip < len ? l - skip : len;
		dst[k].iov_base = (uint8_t *)iov[i].iov_base + skip;
		dst[k].iov_len = c;
		k++;
		len -= c;
		skip = 0;
	}
	if (len)
		return -EFAULT; /* the buffers end first */
	*out_n = k;
	return 0;
}

int p9_out_slice(const struct p9_out *o, size_t len, struct iovec *dst, unsigned int max,
		 unsigned int *n)
{
	if (o->overflow || len > o->cap - o->pos)
		return -EFAULT;
	return p9_iov_slice(o->iov, o->n, o->pos, len, dst, max, n);
}
