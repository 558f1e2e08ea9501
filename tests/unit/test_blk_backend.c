/* The block layer on a temporary image: both engines (io_uring and the
 * thread pool), with and without O_DIRECT, checked against the file's real
 * bytes; image checks and locks; draining from another thread. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <liburing.h>

#include "block/block.h"
#include "vmm/event_loop.h"

#define IMG_SIZE (4u << 20)

struct env {
	char dir[64];
	char path[128];
	struct blk_image img;
	struct event_loop loop;
	struct blk_ctx *ctx;
	unsigned int pending;
	int last_ret;
	unsigned int batches;
};

struct variant {
	const char *engine;
	enum disk_cache cache;
};

static const struct variant variants[] = {
	{ "io_uring", DISK_CACHE_NONE },
	{ "io_uring", DISK_CACHE_WRITEBACK },
	{ "threads", DISK_CACHE_NONE },
	{ "threads", DISK_CACHE_WRITEBACK },
};

static void make_image(const char *path, uint64_t size)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static struct env *new_env(void)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	/* Not tmpfs: O_DIRECT needs a real file system (/var/tmp usually). */
	snprintf(e->dir, sizeof(e->dir), "/var/tmp/sardine-blk.XXXXXX");
	if (!mkdtemp(e->dir)) {
		snprintf(e->dir, sizeof(e->dir), "/tmp/sardine-blk.XXXXXX");
		assert_non_null(mkdtemp(e->dir));
	}
	snprintf(e->path, sizeof(e->path), "%s/disk.img", e->dir);
	make_image(e->path, IMG_SIZE);
	return e;
}

static void free_env(struct env *e)
{
	unlink(e->path);
	rmdir(e->dir);
	free(e);
}

/* 1: open; 0: this variant cannot run here (O_DIRECT on tmpfs). */
static int open_variant(struct env *e, const struct variant *v)
{
	struct disk_config cfg = { .path = e->path, .cache = v->cache };
	char err[256];
	int ret;

	setenv(BLK_ENGINE_ENV, v->engine, 1);
	ret = blk_image_open(&e->img, &cfg, err, sizeof(err));
	if (ret == -EINVAL && v->cache == DISK_CACHE_NONE) {
		fprintf(stderr, "# no O_DIRECT in %s: cache=none not tested here\n", e->dir);
		return 0;
	}
	assert_int_equal(ret, 0);
	assert_int_equal(event_loop_init(&e->loop, "test"), 0);
	assert_int_equal(blk_ctx_create(&e->img, &e->loop, 64, &e->ctx), 0);
	if (strcmp(v->engine, "threads") == 0)
		assert_int_equal(blk_ctx_engine(e->ctx), BLK_ENGINE_THREADS);
	else if (blk_ctx_engine(e->ctx) != BLK_ENGINE_IO_URING)
		fprintf(stderr, "# io_uring unavailable: its variant ran on the thread pool\n");
	if (v->cache == DISK_CACHE_NONE)
		assert_true(e->img.direct);
	return 1;
}

static void close_variant(struct env *e)
{
	blk_ctx_destroy(e->ctx);
	event_loop_destroy(&e->loop);
	blk_image_close(&e->img);
	unsetenv(BLK_ENGINE_ENV);
}

static struct env *current;

static void on_done(struct blk_req *req, int ret)
{
	current->last_ret = ret;
	if (ret)
		fprintf(stderr, "request op %d failed: %s\n", req->op, strerror(-ret));
	if (--current->pending == 0)
		event_loop_stop(&current->loop);
}

static void on_batch(void *opaque)
{
	current->batches++;
}

/* Runs the loop on this thread until every submitted request is done. */
static int run(struct env *e, struct blk_req *reqs, unsigned int n)
{
	current = e;
	e->pending = n;
	e->last_ret = 0;
	blk_ctx_set_batch_end(e->ctx, on_batch, e);
	for (unsigned int i = 0; i < n; i++) {
		reqs[i].done = on_done;
		blk_ctx_submit(e->ctx, &reqs[i]);
	}
	blk_ctx_commit(e->ctx);
	event_loop_run(&e->loop);
	assert_int_equal(e->pending, 0);
	assert_int_equal(blk_ctx_inflight(e->ctx), 0);
	return e->last_ret;
}

static void fill(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + seed + (i >> 9));
}

static void file_bytes(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void write_read_round_trip(void **state)
{
	(void)state;
	for (unsigned int v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
		struct env *e = new_env();
		uint8_t *buf = aligned_alloc(4096, 65536), *back = aligned_alloc(4096, 65536);
		uint8_t *check = malloc(65536);
		struct iovec w[3] = { { buf, 4096 }, { buf + 4096, 8192 }, { buf + 12288, 53248 } };
		struct iovec r[2] = { { back, 32768 }, { back + 32768, 32768 } };
		struct blk_req req[3] = {
			{ .op = BLK_OP_WRITE, .offset = 1 << 20, .iov = w, .iovcnt = 3, .len = 65536 },
		};

		if (!open_variant(e, &variants[v])) {
			free_env(e);
			continue;
		}
		fill(buf, 65536, v);
		assert_int_equal(run(e, req, 1), 0);
		req[0] = (struct blk_req){ .op = BLK_OP_FLUSH };
		assert_int_equal(run(e, req, 1), 0);
		memset(back, 0, 65536);
		req[0] = (struct blk_req){ .op = BLK_OP_READ, .offset = 1 << 20, .iov = r, .iovcnt = 2,
					   .len = 65536 };
		assert_int_equal(run(e, req, 1), 0);
		assert_memory_equal(back, buf, 65536);
		file_bytes(e->path, 1 << 20, check, 65536);
		assert_memory_equal(check, buf, 65536);
		close_variant(e);
		free(buf);
		free(back);
		free(check);
		free_env(e);
	}
}

/* A write that would give the image another format's header is refused
 * and the image keeps its first sector; ordinary data there is written
 * (from guest buffers O_DIRECT could not take as they are, too), the
 * header elsewhere is, and so is the header on an image declared raw. */
static void first_sector_guard(void **state)
{
	(void)state;
	for (unsigned int v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
		struct env *e = new_env();
		uint8_t *mem = malloc(8192 + 1), *buf = mem + 1, check[8192];
		struct iovec w = { buf, 8192 };
		struct blk_req req = { .op = BLK_OP_WRITE, .iov = &w, .iovcnt = 1, .len = 8192 };

		if (!open_variant(e, &variants[v])) {
			free(mem);
			free_env(e);
			continue;
		}
		assert_true(e->img.guard_head);
		fill(buf, 8192, 7);
		assert_int_equal(run(e, &req, 1), 0);
		file_bytes(e->path, 0, check, 8192);
		assert_memory_equal(check, buf, 8192);

		memcpy(buf, "QFI\xfb\0\0\0\x03", 8);
		assert_int_equal(run(e, &req, 1), -EPERM);
		file_bytes(e->path, 0, check, 8);
		assert_memory_not_equal(check, "QFI\xfb", 4);

		req.offset = 4096;
		assert_int_equal(run(e, &req, 1), 0);
		file_bytes(e->path, 4096, check, 8);
		assert_memory_equal(check, "QFI\xfb", 4);

		e->img.guard_head = false; /* as format=raw opens it */
		req.offset = 0;
		assert_int_equal(run(e, &req, 1), 0);
		file_bytes(e->path, 0, check, 8);
		assert_memory_equal(check, "QFI\xfb", 4);
		close_variant(e);
		free(mem);
		free_env(e);
	}
}

/* The ring takes reads, writes and flushes of the image's registered
 * descriptors, nothing else: io_uring bypasses the seccomp filter. */
static void ring_refuses_other_operations(void **state)
{
	struct env *e = new_env();

	(void)state;
	if (!open_variant(e, &variants[1])) {
		free_env(e);
		return;
	}
	if (blk_ctx_engine(e->ctx) == BLK_ENGINE_IO_URING) {
		assert_int_equal(blk_ctx_ring_try(e->ctx, IORING_OP_OPENAT, 0), -EACCES);
		assert_int_equal(blk_ctx_ring_try(e->ctx, IORING_OP_NOP, 0), -EACCES);
		assert_int_equal(blk_ctx_ring_try(e->ctx, IORING_OP_SOCKET, 0), -EACCES);
		/* An allowed operation, but on a descriptor of the process's
		 * own rather than a registered one. */
		assert_int_equal(blk_ctx_ring_try(e->ctx, IORING_OP_FSYNC, 0), -EACCES);
		/* The same with the registered file goes through. */
		assert_int_equal(blk_ctx_ring_try(e->ctx, IORING_OP_FSYNC, IOSQE_FIXED_FILE), 0);
	}
	close_variant(e);
	free_env(e);
}

/* Guest buffers that O_DIRECT refuses are bounced, not failed. */
static void misaligned_buffers_are_bounced(void **state)
{
	(void)state;
	for (unsigned int v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
		struct env *e = new_env();
		uint8_t *raw = malloc(8192 + 64), *buf = raw + 3, *check = malloc(8192);
		uint8_t *rraw = malloc(8192 + 64), *back = rraw + 5;
		struct iovec w[2] = { { buf, 512 }, { buf + 512, 7680 } };
		struct iovec r[1] = { { back, 8192 } };
		struct blk_req req = { .op = BLK_OP_WRITE, .offset = 4096, .iov = w, .iovcnt = 2,
				       .len = 8192 };

		if (!open_variant(e, &variants[v])) {
			free_env(e);
			continue;
		}
		fill(buf, 8192, 77 + v);
		assert_int_equal(run(e, &req, 1), 0);
		req = (struct blk_req){ .op = BLK_OP_READ, .offset = 4096, .iov = r, .iovcnt = 1,
					.len = 8192 };
		assert_int_equal(run(e, &req, 1), 0);
		assert_memory_equal(back, buf, 8192);
		file_bytes(e->path, 4096, check, 8192);
		assert_memory_equal(check, buf, 8192);
		/* A 512-byte transfer at an odd sector takes the buffered path
		 * where the file system wants 4 KiB. */
		req = (struct blk_req){ .op = BLK_OP_READ, .offset = 4096 + 512, .iov = r,
					.iovcnt = 1, .len = 512 };
		r[0] = (struct iovec){ back, 512 };
		assert_int_equal(run(e, &req, 1), 0);
		assert_memory_equal(back, buf + 512, 512);
		close_variant(e);
		free(raw);
		free(rraw);
		free(check);
		free_env(e);
	}
}

static uint64_t allocated(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

static void discard_and_write_zeroes(void **state)
{
	(void)state;
	for (unsigned int v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
		struct env *e = new_env();
		size_t len = 1 << 20;
		uint8_t *buf = aligned_alloc(4096, len), *check = malloc(len);
		struct iovec w = { buf, len };
		struct blk_range ranges[2] = { { 0, 256 << 10 }, { 512 << 10, 512 << 10 } };
		struct blk_range zr = { 256 << 10, 4096 };
		struct blk_req req = { .op = BLK_OP_WRITE, .offset = 0, .iov = &w, .iovcnt = 1,
				       .len = len };

		if (!open_variant(e, &variants[v])) {
			free_env(e);
			continue;
		}
		memset(buf, 0xa5, len);
		assert_int_equal(run(e, &req, 1), 0);
		req = (struct blk_req){ .op = BLK_OP_FLUSH };
		assert_int_equal(run(e, &req, 1), 0);
		assert_true(allocated(e->path) >= len);
		req = (struct blk_req){ .op = BLK_OP_DISCARD, .ranges = ranges, .nr_ranges = 2 };
		assert_int_equal(run(e, &req, 1), 0);
		assert_true(allocated(e->path) <= len - (768 << 10));
		req = (struct blk_req){ .op = BLK_OP_WRITE_ZEROES, .ranges = &zr, .nr_ranges = 1 };
		assert_int_equal(run(e, &req, 1), 0);
		file_bytes(e->path, 0, check, len);
		for (size_t i = 0; i < len; i++) {
			bool zero = i < (256 << 10) + 4096 || i >= (512 << 10);

			if (check[i] != (zero ? 0 : 0xa5))
				fail_msg("byte %zu is %#x", i, check[i]);
		}
		close_variant(e);
		free(buf);
		free(check);
		free_env(e);
	}
}

/* Many requests in one batch: one submission, completions in batches. */
static void a_batch_of_requests(void **state)
{
	(void)state;
	for (unsigned int v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
		struct env *e = new_env();
		enum { N = 48 };
		uint8_t *buf = aligned_alloc(4096, N * 4096), *check = malloc(N * 4096);
		struct iovec iov[N];
		struct blk_req req[N];

		if (!open_variant(e, &variants[v])) {
			free_env(e);
			continue;
		}
		for (unsigned int i = 0; i < N; i++) {
			fill(buf + i * 4096, 4096, i);
			iov[i] = (struct iovec){ buf + i * 4096, 4096 };
			/* Scattered, in reverse order. */
			req[i] = (struct blk_req){ .op = BLK_OP_WRITE, .offset = (uint64_t)(N - i) * 8192,
						   .iov = &iov[i], .iovcnt = 1, .len = 4096 };
		}
		e->batches = 0;
		assert_int_equal(run(e, req, N), 0);
		assert_true(e->batches >= 1 && e->batches <= N);
		for (unsigned int i = 0; i < N; i++) {
			file_bytes(e->path, (uint64_t)(N - i) * 8192, check, 4096);
			assert_memory_equal(check, buf + i * 4096, 4096);
		}
		close_variant(e);
		free(buf);
		free(check);
		free_env(e);
	}
}

static void open_errors_are_clear(void **state)
{
	struct env *e = new_env();
	struct disk_config cfg = { .path = e->path };
	struct blk_image a, b;
	char err[256], odd[160];
	int fd;

	(void)state;
	cfg.path = "/nonexistent/sardine.img";
	assert_int_equal(blk_image_open(&a, &cfg, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/sardine.img"));

	cfg.path = e->dir;
	assert_true(blk_image_open(&a, &cfg, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, e->dir));

	snprintf(odd, sizeof(odd), "%s/odd.img", e->dir);
	make_image(odd, 1000);
	cfg.path = odd;
	assert_int_equal(blk_image_open(&a, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a multiple of 512"));
	make_image(odd, 0);
	assert_int_equal(blk_image_open(&a, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "empty"));

	/* Another format's image, read through O_DIRECT too; format=raw takes it. */
	make_image(odd, 1 << 20);
	fd = open(odd, O_WRONLY);
	assert_int_equal(pwrite(fd, "QFI\xfb\0\0\0\x03", 8, 0), 8);
	close(fd);
	for (int direct = 0; direct < 2; direct++) {
		int ret;

		cfg.cache = direct ? DISK_CACHE_NONE : DISK_CACHE_WRITEBACK;
		cfg.format_raw = true;
		ret = blk_image_open(&a, &cfg, err, sizeof(err));
		if (ret == -EINVAL && direct)
			break; /* no O_DIRECT in this directory */
		assert_int_equal(ret, 0);
		assert_false(a.guard_head);
		blk_image_close(&a);
		cfg.format_raw = false;
		assert_int_equal(blk_image_open(&a, &cfg, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "odd.img is a qcow2 image"));
		assert_non_null(strstr(err, "format=raw"));
	}
	cfg.format_raw = false;
	cfg.cache = DISK_CACHE_WRITEBACK;
	unlink(odd);

	/* Locks: one writer, or any number of readers. */
	cfg.path = e->path;
	assert_int_equal(blk_image_open(&a, &cfg, err, sizeof(err)), 0);
	assert_int_equal(blk_image_open(&b, &cfg, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "in use"));
	cfg.readonly = true;
	assert_int_equal(blk_image_open(&b, &cfg, err, sizeof(err)), -EBUSY);
	blk_image_close(&a);
	assert_int_equal(blk_image_open(&a, &cfg, err, sizeof(err)), 0);
	assert_int_equal(blk_image_open(&b, &cfg, err, sizeof(err)), 0);
	assert_true(b.readonly);
	blk_image_close(&b);
	cfg.readonly = false;
	assert_int_equal(blk_image_open(&b, &cfg, err, sizeof(err)), -EBUSY);
	blk_image_close(&a);

	/* A read-only image opens without write permission. */
	fd = open(e->path, O_RDONLY);
	assert_true(fd >= 0);
	close(fd);
	free_env(e);
}

/* Drain from another thread waits for requests the loop thread submitted
 * and completes; nothing is left in flight afterwards. */
struct drain_env {
	struct env *e;
	int trigger;
	struct blk_req req[32];
	struct iovec iov[32];
	uint8_t *buf;
	unsigned int done;
};

static struct drain_env *draining;

static void drain_done(struct blk_req *req, int ret)
{
	struct drain_env *d = draining;

	(void)req;
	assert_int_equal(ret, 0);
	__atomic_add_fetch(&d->done, 1, __ATOMIC_SEQ_CST);
}

static void submit_on_loop(void *opaque, uint32_t events)
{
	struct drain_env *d = opaque;
	uint64_t v;

	(void)events;
	assert_int_equal(read(d->trigger, &v, sizeof(v)), sizeof(v));
	for (unsigned int i = 0; i < 32; i++) {
		d->iov[i] = (struct iovec){ d->buf + i * 4096, 4096 };
		d->req[i] = (struct blk_req){ .op = i % 2 ? BLK_OP_READ : BLK_OP_WRITE,
					      .offset = (uint64_t)i * 4096, .iov = &d->iov[i],
					      .iovcnt = 1, .len = 4096, .done = drain_done };
		blk_ctx_submit(d->e->ctx, &d->req[i]);
	}
	blk_ctx_commit(d->e->ctx);
}

static void drain_from_another_thread(void **state)
{
	(void)state;
	for (unsigned int v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
		struct drain_env d = { .e = new_env() };
		uint64_t one = 1;

		if (!open_variant(d.e, &variants[v])) {
			free_env(d.e);
			continue;
		}
		draining = &d;
		d.buf = aligned_alloc(4096, 32 * 4096);
		d.trigger = eventfd(0, EFD_CLOEXEC);
		assert_int_equal(event_loop_add(&d.e->loop, d.trigger, EPOLLIN, submit_on_loop, &d), 0);
		assert_int_equal(event_loop_start_thread(&d.e->loop, NULL), 0);
		assert_int_equal(write(d.trigger, &one, sizeof(one)), sizeof(one));
		while (__atomic_load_n(&d.done, __ATOMIC_SEQ_CST) == 0 && !blk_ctx_inflight(d.e->ctx))
			usleep(100);
		blk_ctx_drain(d.e->ctx);
		assert_int_equal(__atomic_load_n(&d.done, __ATOMIC_SEQ_CST), 32);
		assert_int_equal(blk_ctx_inflight(d.e->ctx), 0);
		event_loop_del(&d.e->loop, d.trigger);
		close(d.trigger);
		event_loop_stop(&d.e->loop);
		close_variant(d.e);
		free(d.buf);
		free_env(d.e);
	}
}

/* A polling loop reaps completions itself, with the eventfd signal off. */
static unsigned int polled_done;

static void count_done(struct blk_req *req, int ret)
{
	(void)req;
	assert_int_equal(ret, 0);
	polled_done++;
}

static void polling_reaps_without_the_loop(void **state)
{
	(void)state;
	for (unsigned int v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
		struct env *e = new_env();
		uint8_t *buf = aligned_alloc(4096, 8 * 4096);
		struct iovec iov[8];
		struct blk_req req[8];

		if (!open_variant(e, &variants[v])) {
			free_env(e);
			continue;
		}
		polled_done = 0;
		blk_ctx_signal_completions(e->ctx, false);
		for (unsigned int i = 0; i < 8; i++) {
			iov[i] = (struct iovec){ buf + i * 4096, 4096 };
			req[i] = (struct blk_req){ .op = BLK_OP_READ, .offset = (uint64_t)i * 4096,
						   .iov = &iov[i], .iovcnt = 1, .len = 4096,
						   .done = count_done };
			blk_ctx_submit(e->ctx, &req[i]);
		}
		blk_ctx_commit(e->ctx);
		for (unsigned int spins = 0; polled_done < 8 && spins < 10000000; spins++)
			blk_ctx_poll(e->ctx);
		assert_int_equal(polled_done, 8);
		assert_int_equal(blk_ctx_inflight(e->ctx), 0);
		blk_ctx_signal_completions(e->ctx, true);
		close_variant(e);
		free(buf);
		free_env(e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(write_read_round_trip),
		cmocka_unit_test(ring_refuses_other_operations),
		cmocka_unit_test(misaligned_buffers_are_bounced),
		cmocka_unit_test(discard_and_write_zeroes),
		cmocka_unit_test(a_batch_of_requests),
		cmocka_unit_test(open_errors_are_clear),
		cmocka_unit_test(first_sector_guard),
		cmocka_unit_test(drain_from_another_thread),
		cmocka_unit_test(polling_reaps_without_the_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
