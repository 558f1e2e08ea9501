/* libFuzzer target: the 9P message parser and server, on a scratch
 * directory, with requests and replies in fake guest memory.
 *
 * Each input is a series of records:
 *   frag[1] reply_cap[2] len[2] bytes[len]
 * Every record is one request: its bytes go into guest memory and are
 * handed to the server as iovecs of `frag` bytes (1..256, 0: one buffer),
 * with room for a reply of reply_cap bytes.  Before the records, a fixed
 * Tversion and Tattach make fid 0 the root, so the fuzzer starts from a
 * session.  Odd first bytes pick the mapped security model.  The server
 * must answer every request with a well-formed reply (or nothing when no
 * reply fits) and never crash, leak or touch memory outside the buffers.
 *
 *   make fuzz && build/fuzz/fuzz_9p -max_total_time=600 tests/fuzz/corpus/9p */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "9p/p9.h"
#include "9p/proto.h"
#include "virtio/queue.h"
#include "vmm/guest_mem.h"

#include "scratch.h"

#define REQ_GPA 0x10000
#define REPLY_GPA 0x200000
#define MAX_REPLY 0x100000

struct state {
	struct guest_mem gm;
	char dir[64];
	struct p9_server *server[2]; /* passthrough, mapped */
	struct p9_worker *worker;
	struct iovec iov[VIRTQ_MAX_SEGS * 2];
	unsigned long runs;
};

static struct state *st;

/* At exit (the end of a campaign or of a replay in make test): the scratch
 * tree goes, whatever modes the fuzzer gave it (root removes anyway). */
static void remove_scratch(void)
{
	if (st && st->dir[0])
		scratch_remove(st->dir);
}

/* A small tree to play with: a directory, a file, a link pointing out. */
static void populate(const char *dir)
{
	char p[128];
	FILE *f;

	scratch_empty(dir);
	snprintf(p, sizeof(p), "%s/d", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/d/f", dir);
	f = fopen(p, "w");
	if (f) {
		fputs("hello 9p\n", f);
		fclose(f);
	}
	snprintf(p, sizeof(p), "%s/out", dir);
	if (symlink("/etc", p) && errno != EEXIST)
		abort();
}

static void init_state(void)
{
	struct guest_mem_layout l = { .ram_size = 4 << 20, .hole_start = 1ULL << 32,
				      .hole_end = 1ULL << 32 };
	struct p9_config cfg = { .max_fids = 64 };
	struct rlimit fsize = { 64 << 20, 64 << 20 };

	st = calloc(1, sizeof(*st));
	if (!st || guest_mem_init(&st->gm, &l))
		abort();
	strcpy(st->dir, "/tmp/sardine-fuzz-9p.XXXXXX");
	if (!mkdtemp(st->dir))
		abort();
	atexit(remove_scratch);
	populate(st->dir);
	/* Writes at huge offsets fail with EFBIG instead of filling a disk. */
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &fsize);
	cfg.root = st->dir;
	if (p9_server_create(&st->server[0], &cfg))
		abort();
	cfg.mapped = true;
	if (p9_server_create(&st->server[1], &cfg))
		abort();
	st->worker = p9_worker_create();
	if (!st->worker)
		abort();
}

static unsigned int to_iov(uint64_t gpa, size_t len, size_t frag, struct iovec *iov,
			   unsigned int max)
{
	unsigned int n = 0;

	if (!frag)
		frag = len ? len : 1;
	for (size_t off = 0; off < len && n < max; off += frag) {
		unsigned int got = 0;
		size_t c = len - off < frag ? len - off : frag;

		if (gm_to_iov(&st->gm, gpa + off, c, iov + n, max - n, &got))
			abort();
		n += got;
	}
	return n;
}

static void check_reply(const uint8_t *reply, uint32_t len, size_t cap)
{
	uint32_t size;

	if (len == 0)
		return;
	/* A reply fits its buffers and says its own length. */
	if (len > cap || len < P9_HDR_SIZE)
		abort();
	memcpy(&size, reply, 4);
	if (size != len || !(reply[4] & 1))
		abort();
}

static void run_one(struct p9_server *s, const uint8_t *msg, size_t len, size_t frag, size_t cap)
{
	uint8_t *req = gm_ptr(&st->gm, REQ_GPA, len ? len : 1);
	uint8_t *reply = gm_ptr(&st->gm, REPLY_GPA, MAX_REPLY);
	struct p9_msg m;

	memcpy(req, msg, len);
	m.out = st->iov;
	m.out_num = to_iov(REQ_GPA, len, frag, st->iov, VIRTQ_MAX_SEGS);
	m.in = st->iov + m.out_num;
	m.in_num = to_iov(REPLY_GPA, cap, frag, st->iov + m.out_num, VIRTQ_MAX_SEGS);
	/* The lengths are what the buffers hold (the segment limit may cut). */
	m.out_len = m.in_len = 0;
	for (unsigned int i = 0; i < m.out_num; i++)
		m.out_len += m.out[i].iov_len;
	for (unsigned int i = 0; i < m.in_num; i++)
		m.in_len += m.in[i].iov_len;
	check_reply(reply, p9_handle(s, st->worker, &m), m.in_len);
}

static void start_session(struct p9_server *s)
{
	static const uint8_t version[] = {
		21, 0, 0, 0, P9_TVERSION, 0xff, 0xff, 0x00, 0x00, 0x08, 0x00, /* msize 512 KiB */
		8, 0, '9', 'P', '2', '0', '0', '0', '.', 'L',
	};
	static const uint8_t attach[] = {
		23, 0, 0, 0, P9_TATTACH, 1, 0,
		0, 0, 0, 0,             /* fid 0 */
		0xff, 0xff, 0xff, 0xff, /* afid NOFID */
		0, 0, 0, 0,             /* uname "", aname "" */
		0, 0, 0, 0,             /* n_uname 0 */
	};

	run_one(s, version, sizeof(version), 0, 4096);
	run_one(s, attach, sizeof(attach), 0, 4096);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct p9_server *s;
	size_t off = 0;

	if (!st)
		init_state();
	if (size == 0)
		return 0;
	s = st->server[data[0] & 1];
	if (++st->runs % 512 == 0)
		populate(st->dir);
	p9_server_reset(s);
	start_session(s);
	off = 1;
	while (off + 5 <= size) {
		size_t frag = data[off] % 257;
		size_t cap = (size_t)(data[off + 1] | data[off + 2] << 8) * 16;
		size_t len = (size_t)(data[off + 3] | data[off + 4] << 8);

		off += 5;
		if (len > size - off)
			len = size - off;
		if (cap > MAX_REPLY)
			cap = MAX_REPLY;
		run_one(s, data + off, len, frag, cap);
		off += len;
	}
	return 0;
}
