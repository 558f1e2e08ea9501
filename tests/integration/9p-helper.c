/* A small static tool for tests/integration/50-9p.sh, used in the guest
 * (busybox has no xattr tools, no fcntl locks, no mmap) and on the host.
 *
 *   setx FILE NAME VALUE      set an extended attribute
 *   getx FILE NAME            print it
 *   listx FILE                print the names, one a line
 *   getu32 FILE NAME          print a 4-byte little-endian xattr, decimal
 *   getu64 FILE NAME          the same for 8 bytes
 *   swap A B SECONDS          exchange A and B (renameat2) until SECONDS
 *                             pass or SIGINT; print the count
 *   holdlock FILE SECONDS     hold an OFD write lock on FILE; print HELD,
 *                             keep it until SECONDS pass or SIGINT
 *   trylock FILE              try a non-blocking write lock and F_GETLK;
 *                             print SETLK=ok|EAGAIN|... GETLK=W|R|U
 *   mmapw FILE                write a page through a shared mapping,
 *                             msync, read it back with read(2); print ok
 * Exit status 0 on success, 1 on failure, 2 on bad usage. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: 9p-helper setx|getx|listx|getu32|getu64|swap|holdlock|trylock|mmapw ...\n");
	return 2;
}

static int die(const char *what)
{
	fprintf(stderr, "9p-helper: %s: %s\n", what, strerror(errno));
	return 1;
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int swap(const char *a, const char *b, long seconds)
{
	time_t end = time(NULL) + seconds;
	unsigned long n = 0;

	signal(SIGINT, on_sigint);
	while (time(NULL) < end && !interrupted) {
		if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0)
			n++;
		else if (errno != EINTR && !interrupted)
			return die("renameat2");
		if (n % 64 == 0)
			usleep(100); /* let the guest's requests through */
	}
	printf("%lu\n", n);
	return 0;
}

static int holdlock(const char *file, long seconds)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	time_t end = time(NULL) + seconds;
	int fd = open(file, O_RDWR | O_CREAT, 0644);

	if (fd < 0)
		return die(file);
	if (fcntl(fd, F_OFD_SETLK, &fl))
		return die("F_OFD_SETLK");
	signal(SIGINT, on_sigint);
	printf("HELD\n");
	fflush(stdout);
	while (time(NULL) < end && !interrupted)
		usleep(200000);
	return 0;
}

static const char *lock_name(short type)
{
	return type == F_WRLCK ? "W" : type == F_RDLCK ? "R" : "U";
}

static int trylock(const char *file)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = open(file, O_RDWR);

	if (fd < 0)
		return die(file);
	if (fcntl(fd, F_SETLK, &fl) == 0)
		printf("SETLK=ok ");
	else
		printf("SETLK=%s ", errno == EAGAIN ? "EAGAIN" : errno == EACCES ? "EACCES" : strerror(errno));
	fl.l_type = F_WRLCK;
	if (fcntl(fd, F_GETLK, &fl))
		return die("F_GETLK");
	printf("GETLK=%s\n", lock_name(fl.l_type));
	return 0;
}

static int mmapw(const char *file)
{
	char back[4096];
	char *p;
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return die(file);
	if (ftruncate(fd, 4096))
		return die("ftruncate");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return die("mmap");
	for (int i = 0; i < 4096; i++)
		p[i] = (char)('a' + i % 26);
	if (msync(p, 4096, MS_SYNC))
		return die("msync");
	munmap(p, 4096);
	if (pread(fd, back, sizeof(back), 0) != (ssize_t)sizeof(back))
		return die("pread");
	for (int i = 0; i < 4096; i++)
		if (back[i] != (char)('a' + i % 26)) {
			fprintf(stderr, "9p-helper: mapped write lost at %d\n", i);
			return 1;
		}
	printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	char buf[65536];
	ssize_t n;

	if (argc < 3)
		return usage();
	if (strcmp(argv[1], "setx") == 0 && argc == 5) {
		if (setxattr(argv[2], argv[3], argv[4], strlen(argv[4]), 0))
			return die("setxattr");
		return 0;
	}
	if (strcmp(argv[1], "getx") == 0 && argc == 4) {
		n = getxattr(argv[2], argv[3], buf, sizeof(buf) - 1);
		if (n < 0)
			return die("getxattr");
		buf[n] = '\0';
		printf("%s\n", buf);
		return 0;
	}
	if (strcmp(argv[1], "listx") == 0 && argc == 3) {
		n = listxattr(argv[2], buf, sizeof(buf));
		if (n < 0)
			return die("listxattr");
		for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
			printf("%s\n", buf + i);
		return 0;
	}
	if ((strcmp(argv[1], "getu32") == 0 || strcmp(argv[1], "getu64") == 0) && argc == 4) {
		uint64_t v = 0;
		size_t want = argv[1][4] == '3' ? 4 : 8;

		n = getxattr(argv[2], argv[3], &v, want);
		if (n != (ssize_t)want)
			return die("getxattr");
		printf("%llu\n", (unsigned long long)v);
		return 0;
	}
	if (strcmp(argv[1], "swap") == 0 && argc == 5)
		return swap(argv[2], argv[3], atol(argv[4]));
	if (strcmp(argv[1], "holdlock") == 0 && argc == 4)
		return holdlock(argv[2], atol(argv[3]));
	if (strcmp(argv[1], "trylock") == 0 && argc == 3)
		return trylock(argv[2]);
	if (strcmp(argv[1], "mmapw") == 0 && argc == 3)
		return mmapw(argv[2]);
	return usage();
}
