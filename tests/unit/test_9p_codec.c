/* 9P codec and framing: malformed messages get an Rlerror, never a crash;
 * replies land correctly in fragmented buffers; the data path is exact. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "9p/internal.h"
#include "p9_client.h"

struct fixture {
	char dir[64];
	struct tclient *c;
};

static int setup_cfg(void **state, unsigned int max_fids)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct p9_config cfg = { .max_fids = max_fids };

	strcpy(fx->dir, "/tmp/sardine-9p-codec.XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	cfg.root = fx->dir;
	fx->c = calloc(1, sizeof(*fx->c));
	if (p9_server_create(&fx->c->s, &cfg))
		return -1;
	fx->c->w = p9_worker_create();
	*state = fx;
	return 0;
}

static int setup(void **state)
{
	return setup_cfg(state, 0);
}

static int setup_few_fids(void **state)
{
	return setup_cfg(state, 4);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	p9_worker_destroy(fx->c->w);
	p9_server_destroy(fx->c->s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	if (system(cmd))
		return -1;
	free(fx->c);
	free(fx);
	return 0;
}

static void version_negotiates_msize(void **state)
{
	struct tclient *c = ((struct fixture *)*state)->c;

	t_begin(c, P9_TVERSION, P9_NOTAG);
	t_put(c, 64u << 20, 4);
	t_str(c, "9P2000.L");
	assert_int_equal(t_send(c), P9_RVERSION);
	assert_int_equal(t_get(c, 4), P9_MAX_MSIZE);
	t_begin(c, P9_TVERSION, P9_NOTAG);
	t_put(c, 512000, 4);
	t_str(c, "9P2000.u");
	assert_int_equal(t_send(c), P9_RVERSION);
	assert_int_equal(t_get(c, 4), 512000);
	assert_int_equal(t_get(c, 2), 7);
	assert_memory_equal(c->reply + c->rpos, "unknown", 7);
	assert_int_equal(t_version(c, 100), -EINVAL); /* below the minimum */
}

static void malformed_messages_get_rlerror(void **state)
{
	struct tclient *c = ((struct fixture *)*state)->c;

	assert_int_equal(t_version(c, 65536), 0);
	assert_int_equal(t_attach(c, 1, 0), 0);
	/* Truncated: a walk that promises a name it does not carry. */
	t_begin(c, P9_TWALK, 9);
	t_put(c, 1, 4);
	t_put(c, 2, 4);
	t_put(c, 1, 2);
	t_put(c, 40, 2); /* a 40-byte name, 0 bytes of it */
	assert_int_equal(t_send(c), P9_RLERROR);
	assert_int_equal(t_err(c), EINVAL);
	assert_int_equal(t_reply_tag(c), 9);
	/* Size field larger than the buffers, and smaller than a header. */
	t_begin(c, P9_TCLUNK, 10);
	t_put(c, 1, 4);
	assert_int_equal(t_send_raw(c, 1000), P9_RLERROR);
	assert_int_equal(t_err(c), EMSGSIZE);
	assert_int_equal(t_send_raw(c, 3), P9_RLERROR);
	/* Larger than msize. */
	c->req.len = 70000;
	assert_int_equal(t_send(c), P9_RLERROR);
	assert_int_equal(t_err(c), EMSGSIZE);
	/* Unknown types and R-messages. */
	t_begin(c, 200, 11);
	assert_int_equal(t_send(c), P9_RLERROR);
	assert_int_equal(t_err(c), EOPNOTSUPP);
	t_begin(c, P9_RWALK, 11);
	assert_int_equal(t_send(c), P9_RLERROR);
	/* A NUL inside a name; a name past NAME_MAX; too many names. */
	t_begin(c, P9_TWALK, 12);
	t_put(c, 1, 4);
	t_put(c, 2, 4);
	t_put(c, 1, 2);
	t_put(c, 3, 2);
	t_put(c, 'a', 1);
	t_put(c, 0, 1);
	t_put(c, 'b', 1);
	assert_int_equal(t_send(c), P9_RLERROR);
	assert_int_equal(t_err(c), EINVAL);
	{
		char long_name[300];
		const char *names[] = { long_name, NULL };

		memset(long_name, 'x', sizeof(long_name) - 1);
		long_name[sizeof(long_name) - 1] = '\0';
		assert_int_equal(t_walk(c, 1, 2, names), -ENAMETOOLONG);
	}
	t_begin(c, P9_TWALK, 13);
	t_put(c, 1, 4);
	t_put(c, 2, 4);
	t_put(c, 17, 2);
	for (int i = 0; i < 17; i++)
		t_str(c, "a");
	assert_int_equal(t_send(c), P9_RLERROR);
	assert_int_equal(t_err(c), EINVAL);
	/* Unknown fids. */
	assert_int_equal(t_clunk(c, 77), -EBADF);
	assert_int_equal(t_lopen(c, 77, 0), -EBADF);
	/* A fid in use cannot be attached again. */
	assert_int_equal(t_attach(c, 1, 0), -EBADF);
}

static void header_too_short_and_no_room(void **state)
{
	struct tclient *c = ((struct fixture *)*state)->c;

	c->req.len = 3;
	assert_int_equal(t_send_raw(c, 3), P9_RLERROR);
	assert_int_equal(t_reply_tag(c), P9_NOTAG);
	/* No room even for an Rlerror: nothing is written. */
	c->reply_cap = 8;
	t_begin(c, P9_TCLUNK, 1);
	t_put(c, 5, 4);
	t_send(c);
	assert_int_equal(c->reply_len, 0);
	c->reply_cap = 0;
}

static void fragmented_buffers(void **state)
{
	struct tclient *c = ((struct fixture *)*state)->c;
	struct fixture *fx = *state;
	static uint8_t data[200000], back[200000];
	struct tattr a;
	char path[128];
	struct stat st;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + (i >> 9));
	assert_int_equal(t_version(c, 512 * 1024), 0);
	c->frag = 1; /* every byte its own buffer: headers cross buffers */
	assert_int_equal(t_attach(c, 1, 0), 0);
	assert_int_equal(t_getattr(c, 1, &a), 0);
	assert_true(S_ISDIR(a.mode));
	assert_int_equal(a.qtype, P9_QTDIR);
	c->frag = 4093; /* odd pieces for the data path */
	assert_int_equal(t_walk1(c, 1, 2, NULL), 0);
	assert_int_equal(t_lcreate(c, 2, "f", P9_DOTL_RDWR, 0644, 0), 0);
	assert_int_equal(t_write(c, 2, 0, data, sizeof(data)), sizeof(data));
	assert_int_equal(t_read(c, 2, 0, back, sizeof(back)), sizeof(back));
	assert_memory_equal(data, back, sizeof(data));
	assert_int_equal(t_read(c, 2, 1000, back, 10), 10);
	assert_memory_equal(data + 1000, back, 10);
	assert_int_equal(t_read(c, 2, sizeof(data), back, 100), 0); /* EOF */
	/* A read larger than the reply room is cut to it. */
	c->reply_cap = 11 + 5000;
	assert_int_equal(t_read(c, 2, 0, back, 100000), 5000);
	c->reply_cap = 0;
	/* The host sees exactly what was written. */
	snprintf(path, sizeof(path), "%s/f", fx->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, sizeof(data));
	/* A write count beyond the message is refused. */
	t_begin(c, P9_TWRITE, 6);
	t_put(c, 2, 4);
	t_put(c, 0, 8);
	t_put(c, 100, 4);
	t_put(c, 0, 8);
	assert_int_equal(t_send(c), P9_RLERROR);
	assert_int_equal(t_err(c), EINVAL);
	c->frag = 0;
	assert_int_equal(t_clunk(c, 2), 0);
}

static void fid_cap_holds(void **state)
{
	struct tclient *c = ((struct fixture *)*state)->c;

	assert_int_equal(t_version(c, 65536), 0);
	assert_int_equal(t_attach(c, 1, 0), 0);
	assert_int_equal(t_walk1(c, 1, 2, NULL), 0);
	assert_int_equal(t_walk1(c, 1, 3, NULL), 0);
	assert_int_equal(t_walk1(c, 1, 4, NULL), 0);
	assert_int_equal(t_walk1(c, 1, 5, NULL), -EMFILE);
	assert_int_equal(p9_server_fid_count(c->s), 4);
	/* Replacing a fid in place is not a new one. */
	assert_int_equal(t_walk1(c, 2, 2, NULL), 0);
	assert_int_equal(t_clunk(c, 4), 0);
	assert_int_equal(t_walk1(c, 1, 5, NULL), 0);
	/* Tversion starts a new session: all fids gone. */
	assert_int_equal(t_version(c, 65536), 0);
	assert_int_equal(p9_server_fid_count(c->s), 0);
}

static void flush_without_transport(void **state)
{
	struct tclient *c = ((struct fixture *)*state)->c;
	struct p9_msg m;
	struct iovec iov[2];
	uint8_t type;
	uint16_t tag, oldtag;

	t_begin(c, P9_TFLUSH, 5);
	t_put(c, 4, 2);
	assert_int_equal(t_send(c), P9_RFLUSH);
	assert_int_equal(c->reply_len, 7);
	iov[0].iov_base = c->req.b;
	iov[0].iov_len = c->req.len;
	iov[1].iov_base = c->reply;
	iov[1].iov_len = 64;
	m = (struct p9_msg){ .out = iov, .out_num = 1, .out_len = c->req.len,
			     .in = iov + 1, .in_num = 1, .in_len = 64 };
	assert_int_equal(p9_peek(&m, &type, &tag, &oldtag), 0);
	assert_int_equal(type, P9_TFLUSH);
	assert_int_equal(tag, 5);
	assert_int_equal(oldtag, 4);
}

static void codec_primitives(void **state)
{
	uint8_t buf[] = { 1, 2, 0, 3, 0, 0, 0, 2, 0, 'h', 'i', 9 };
	char arena[8];
	struct p9_in in;
	uint8_t out[16];
	struct iovec iov[3] = { { out, 3 }, { out + 3, 1 }, { out + 4, 12 } };
	struct p9_out o;

	(void)state;
	p9_in_init(&in, buf, sizeof(buf), arena, sizeof(arena));
	assert_int_equal(p9_get8(&in), 1);
	assert_int_equal(p9_get16(&in), 2);
	assert_int_equal(p9_get32(&in), 3);
	assert_string_equal(p9_get_str(&in, 10), "hi");
	assert_int_equal(p9_get8(&in), 9);
	assert_int_equal(in.err, 0);
	assert_int_equal(p9_get64(&in), 0); /* past the end */
	assert_int_equal(in.err, -EINVAL);
	/* A string longer than allowed. */
	p9_in_init(&in, buf + 7, 4, arena, sizeof(arena));
	assert_null(p9_get_str(&in, 1));
	assert_int_equal(in.err, -ENAMETOOLONG);
	/* Writes cross buffers and stop at the cap. */
	p9_out_init(&o, iov, 3, 10);
	p9_put64(&o, 0x0807060504030201ULL);
	p9_put16(&o, 0x0a09);
	assert_false(o.overflow);
	for (int i = 0; i < 10; i++)
		assert_int_equal(out[i], i + 1);
	p9_put8(&o, 1);
	assert_true(o.overflow);
	assert_int_equal(p9_out_room(&o), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(version_negotiates_msize, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed_messages_get_rlerror, setup, teardown),
		cmocka_unit_test_setup_teardown(header_too_short_and_no_room, setup, teardown),
		cmocka_unit_test_setup_teardown(fragmented_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(fid_cap_holds, setup_few_fids, teardown),
		cmocka_unit_test_setup_teardown(flush_without_transport, setup, teardown),
		cmocka_unit_test(codec_primitives),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
