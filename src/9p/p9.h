/* A 9P2000.L file server for one shared host directory.
 *
 * Transport-free: a request is a list of guest buffers holding the message
 * (out) and a list of guest buffers for the reply (in); p9_handle() decodes
 * the request from a private copy, does the work and encodes the reply
 * straight into the reply buffers.  Large reads and writes move data
 * between the host file and the guest buffers with preadv/pwritev, no copy.
 *
 * Thread safety: any number of threads may call p9_handle() at once, each
 * with its own struct p9_worker (scratch space).  Fids are reference
 * counted, so a Tclunk racing with a Tread on the same fid is safe.
 *
 * Security: every fid is an O_PATH descriptor beneath the share's root,
 * every name the guest sends is one path component resolved with openat2
 * (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
 * RESOLVE_NO_XDEV), symbolic links are never followed on the host, and no
 * guest string is ever resolved from "/".  See docs/9p.md. */
#ifndef SARDINE_9P_H
#define SARDINE_9P_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define P9_MAX_MSIZE (4u << 20)   /* the largest msize we agree to */
#define P9_MIN_MSIZE 4096u
#define P9_DEFAULT_MAX_FIDS 32768u

struct p9_config {
	const char *root;      /* the shared host directory */
	bool readonly;         /* every change fails with EROFS */
	bool mapped;           /* security=mapped: guest owners/modes in xattrs */
	unsigned int max_fids; /* 0: P9_DEFAULT_MAX_FIDS */
	unsigned int nr_shares; /* servers in this process, for the fd budget */
};

/* One request: the driver's buffers, already translated to host memory. */
struct p9_msg {
	const struct iovec *out; /* the request, guest-readable */
	unsigned int out_num;
	uint64_t out_len;
	const struct iovec *in;  /* room for the reply, guest-writable */
	unsigned int in_num;
	uint64_t in_len;
};

struct p9_stats {
	uint64_t requests, errors, read_bytes, write_bytes;
};

struct p9_server;
struct p9_worker;

/* -errno: the root cannot be opened, openat2 is missing, ... (logged). */
int p9_server_create(struct p9_server **out, const struct p9_config *cfg);
void p9_server_destroy(struct p9_server *s);
/* The transport was reset: clunk every fid (no request may be running). */
void p9_server_reset(struct p9_server *s);
void p9_server_stats(struct p9_server *s, struct p9_stats *st);
unsigned int p9_server_fid_count(struct p9_server *s);

struct p9_worker *p9_worker_create(void);
void p9_worker_destroy(struct p9_worker *w);

/* Serves one request; returns the reply length written into m->in (0 when
 * the reply buffers cannot even hold an Rlerror). */
uint32_t p9_handle(struct p9_server *s, struct p9_worker *w, const struct p9_msg *m);

/* Type and tag of a request, and for Tflush the tag it flushes; -EINVAL when
 * the header is not even readable. */
int p9_peek(const struct p9_msg *m, uint8_t *type, uint16_t *tag, uint16_t *oldtag);
/* Writes an Rflush for tag into m->in; returns its length (or 0). */
uint32_t p9_reply_flush(const struct p9_msg *m, uint16_t tag);
/* Writes an Rlerror; returns its length (or 0). */
uint32_t p9_reply_error(const struct p9_msg *m, uint16_t tag, int err);

#endif
