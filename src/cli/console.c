/* sardine console NAME: attach this terminal to the serial console of a VM
 * started with --console socket (its DIR/NAME.console socket).  On a
 * terminal, as with `sardine run`: raw mode, Ctrl-A x detaches, Ctrl-A
 * Ctrl-A sends Ctrl-A.  Input from a pipe passes untouched, and its end
 * half-closes the connection (the VM side then lets go of it). */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "api/socket.h"
#include "cli/cli.h"
#include "vmm/runner.h"

#define ESCAPE 0x01 /* Ctrl-A */

struct session {
	int sock;
	bool tty, escape_pending, quit;
	struct termios saved;
};

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Terminal input: the escape sequence is ours, the rest goes out. */
static size_t filter(struct session *s, uint8_t *buf, size_t len)
{
	size_t out = 0;

	for (size_t i = 0; i < len; i++) {
		if (s->escape_pending) {
			s->escape_pending = false;
			if (buf[i] == 'x' || buf[i] == 'X') {
				s->quit = true;
				return out;
			}
			if (buf[i] != ESCAPE)
				buf[out++] = ESCAPE;
			buf[out++] = buf[i];
		} else if (buf[i] == ESCAPE) {
			s->escape_pending = true;
		} else {
			buf[out++] = buf[i];
		}
	}
	return out;
}

static int relay(struct session *s)
{
	struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
			       { .fd = s->sock, .events = POLLIN } };
	uint8_t buf[4096];

	while (!s->quit) {
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return EXIT_VM_ERROR;
		}
		if (p[1].revents) {
			n = read(s->sock, buf, sizeof(buf));
			if (n <= 0)
				return 0; /* the VM ended, or let go of us */
			if (write_all(STDOUT_FILENO, buf, (size_t)n))
				return EXIT_VM_ERROR;
		}
		if (p[0].revents) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				/* End of input: say so, keep showing output. */
				shutdown(s->sock, SHUT_WR);
				p[0].fd = -1;
				continue;
			}
			if (s->tty)
				n = (ssize_t)filter(s, buf, (size_t)n);
			if (n && write_all(s->sock, buf, (size_t)n))
				return 0;
		}
	}
	return 0;
}

int cli_console(int argc, char **argv)
{
	char api[sizeof(((struct sockaddr_un *)0)->sun_path)], path[sizeof(api)];
	struct session s = { .sock = -1 };
	struct termios raw;
	int status;

	if (argc != 2 || argv[1][0] == '-') {
		cli_error("usage: sardine console NAME");
		return EXIT_USAGE;
	}
	status = cli_target_path(argv[1], api, sizeof(api));
	if (status)
		return status;
	if (sock_console_path(api, path, sizeof(path))) {
		cli_error("console socket path too long");
		return EXIT_USAGE;
	}
	s.sock = sock_connect(path);
	if (s.sock == -ENOENT) {
		cli_error("VM '%s' has no console socket %s (is it running with --console socket?)",
			  argv[1], path);
		return EXIT_USAGE;
	}
	if (s.sock < 0) {
		cli_error("cannot attach to %s: %s", path, strerror(-s.sock));
		return EXIT_VM_ERROR;
	}
	s.tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &s.saved) == 0;
	if (s.tty) {
		raw = s.saved;
		cfmakeraw(&raw);
		raw.c_oflag |= OPOST | ONLCR;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		fprintf(stderr, "sardine: attached to %s (Ctrl-A x detaches)\r\n", argv[1]);
	}
	status = relay(&s);
	if (s.tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &s.saved);
	close(s.sock);
	return status;
}
