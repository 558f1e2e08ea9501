#define LOG_TAG "console"
#include "api/console_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/socket.h"
#include "vmm/console.h"
#include "vmm/event_loop.h"
#include "vmm/log.h"

struct console_server {
	struct console con;
	struct event_loop *loop;
	char path[108];
	struct socket_id id;
	int listen_fd;
};

static void on_detach(void *opaque, int fd)
{
	log_info("console client left");
	close(fd);
}

static void on_accept(void *opaque, uint32_t events)
{
	static const char busy[] = "sardine: another client is attached to this console\r\n";
	struct console_server *cs = opaque;
	int fd = accept4(cs->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	int ret;

	if (fd < 0)
		return;
	ret = console_attach(&cs->con, fd);
	if (ret) {
		if (ret == -EBUSY && send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			log_debug("console: %s", strerror(errno));
		close(fd);
		return;
	}
	log_info("console client attached");
}

int console_server_create(struct console_server **out, const char *path,
			  struct event_loop *loop, char *err, size_t errlen)
{
	struct console_server *cs = calloc(1, sizeof(*cs));
	int ret;

	if (!cs)
		return -ENOMEM;
	if (strlen(path) >= sizeof(cs->path)) {
		free(cs);
		snprintf(err, errlen, "console socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(cs->path, path);
	cs->loop = loop;
	ret = console_init(&cs->con, -1, -1, loop);
	if (ret) {
		snprintf(err, errlen, "console: %s", strerror(-ret));
		free(cs);
		return ret;
	}
	console_set_detach(&cs->con, on_detach, cs);
	cs->listen_fd = sock_listen(path, &cs->id, err, errlen);
	if (cs->listen_fd < 0) {
		ret = cs->listen_fd;
		goto err_console;
	}
	ret = event_loop_add(loop, cs->listen_fd, EPOLLIN, on_accept, cs);
	if (ret) {
		snprintf(err, errlen, "console socket: %s", strerror(-ret));
		goto err_socket;
	}
	*out = cs;
	return 0;

err_socket:
	close(cs->listen_fd);
	sock_remove(path, &cs->id);
err_console:
	console_destroy(&cs->con);
	free(cs);
	return ret;
}

void console_server_destroy(struct console_server *cs)
{
	if (!cs)
		return;
	event_loop_del(cs->loop, cs->listen_fd);
	close(cs->listen_fd);
	sock_remove(cs->path, &cs->id);
	console_destroy(&cs->con);
	free(cs);
}

struct console *console_server_console(struct console_server *cs)
{
	return &cs->con;
}
