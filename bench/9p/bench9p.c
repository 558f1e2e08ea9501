/* The guest side of bench/9p: timed file system workloads, built static
 * and put into the guest's initramfs.
 *
 *   bench9p write FILE MIB BLOCK_KIB   sequential write (+ fsync), MB/s
 *   bench9p read FILE BLOCK_KIB        sequential read to the end, MB/s
 *   bench9p small DIR N                create (empty) + stat + unlink N
 *                                      files, ops/s (3 ops a file)
 * Prints one line: RESULT <name> <value> <unit> <seconds> <bytes-or-ops>. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int die(const char *what)
{
	fprintf(stderr, "bench9p: %s: %s\n", what, strerror(errno));
	return 1;
}

static int seq_write(const char *file, long mib, long block_kib)
{
	size_t bs = (size_t)block_kib << 10;
	long long total = (long long)mib << 20, done = 0;
	char *buf = malloc(bs);
	double t0, t;
	int fd;

	if (!buf)
		return die("malloc");
	for (size_t i = 0; i < bs; i++)
		buf[i] = (char)(i * 31 + 7);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return die(file);
	t0 = now();
	while (done < total) {
		ssize_t n = write(fd, buf, bs);

		if (n <= 0)
			return die("write");
		done += n;
	}
	if (fsync(fd))
		return die("fsync");
	t = now() - t0;
	close(fd);
	printf("RESULT seq_write %.1f MB/s %.3f %lld\n", done / t / 1e6, t, done);
	return 0;
}

static int seq_read(const char *file, long block_kib)
{
	size_t bs = (size_t)block_kib << 10;
	char *buf = malloc(bs);
	long long done = 0;
	double t0, t;
	ssize_t n;
	int fd;

	if (!buf)
		return die("malloc");
	fd = open(file, O_RDONLY);
	if (fd < 0)
		return die(file);
	t0 = now();
	while ((n = read(fd, buf, bs)) > 0)
		done += n;
	if (n < 0)
		return die("read");
	t = now() - t0;
	close(fd);
	printf("RESULT seq_read %.1f MB/s %.3f %lld\n", done / t / 1e6, t, done);
	return 0;
}

static int small(const char *dir, long n)
{
	char path[4096];
	struct stat st;
	double t0, t;

	t0 = now();
	for (long i = 0; i < n; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/f%06ld", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			return die(path);
		close(fd);
	}
	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%06ld", dir, i);
		if (stat(path, &st))
			return die(path);
	}
	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%06ld", dir, i);
		if (unlink(path))
			return die(path);
	}
	t = now() - t0;
	printf("RESULT small_files %.1f ops/s %.3f %ld\n", 3 * n / t, t, 3 * n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "write") == 0)
		return seq_write(argv[2], atol(argv[3]), atol(argv[4]));
	if (argc == 4 && strcmp(argv[1], "read") == 0)
		return seq_read(argv[2], atol(argv[3]));
	if (argc == 4 && strcmp(argv[1], "small") == 0)
		return small(argv[2], atol(argv[3]));
	fprintf(stderr, "usage: bench9p write FILE MIB BLOCK_KIB | read FILE BLOCK_KIB | small DIR N\n");
	return 2;
}
