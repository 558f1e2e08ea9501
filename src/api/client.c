/* A deliberately small HTTP client: one request, "Connection: close", the
 * answer read to EOF with a size cap and a deadline.  It only ever talks to
 * sardine's own server (libmicrohttpd), which answers with Content-Length. */
#include "api/client.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api/api.h"
#include "api/socket.h"

#define REPLY_MAX (8 << 20)
#define DEADLINE_MS 30000

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd until the deadline: 0, or -ETIMEDOUT. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left = deadline - now_ms();
	int n;

	if (left <= 0)
		return -ETIMEDOUT;
	do {
		n = poll(&p, 1, (int)left);
	} while (n < 0 && errno == EINTR);
	return n > 0 ? 0 : n == 0 ? -ETIMEDOUT : -errno;
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			int ret = wait_fd(fd, POLLOUT, deadline);

			if (ret)
				return ret;
			continue;
		}
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int recv_all(int fd, char **out, size_t *out_len, int64_t deadline)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap + 1);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;
		int ret = wait_fd(fd, POLLIN, deadline);

		if (ret) {
			free(buf);
			return ret;
		}
		if (len == cap) {
			char *grown = cap >= REPLY_MAX ? NULL : realloc(buf, cap * 2 + 1);

			if (!grown) {
				free(buf);
				return -EMSGSIZE;
			}
			buf = grown;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			ret = -errno;
			free(buf);
			return ret;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}

/* "HTTP/1.1 204 No Content\r\n...\r\n\r\nbody" -> status and body. */
static int parse_reply(char *text, size_t len, struct api_reply *reply)
{
	char *head_end = strstr(text, "\r\n\r\n"), *line, *body;
	unsigned long status;
	size_t body_len;

	if (len < 12 || strncmp(text, "HTTP/1.", 7) != 0 || !head_end || text[8] != ' ' ||
	    !isdigit((unsigned char)text[9]) || !isdigit((unsigned char)text[10]) ||
	    !isdigit((unsigned char)text[11]))
		return -EPROTO;
	status = strtoul(text + 9, NULL, 10);
	body = head_end + 4;
	body_len = len - (size_t)(body - text);
	*head_end = '\0';
	for (line = strstr(text, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
		if (strncasecmp(line + 2, "Transfer-Encoding:", 18) == 0)
			return -EPROTO; /* sardine's server never chunks */
		if (strncasecmp(line + 2, "Content-Length:", 15) == 0) {
			unsigned long cl = strtoul(line + 17, NULL, 10);

			if (cl > body_len)
				return -EPROTO; /* cut short */
			body_len = cl;
		}
	}
	reply->status = (unsigned int)status;
	reply->body = strndup(body, body_len);
	return reply->body ? 0 : -ENOMEM;
}

int api_client_call(const char *path, const char *method, const char *endpoint,
		    const char *body, struct api_reply *reply, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + DEADLINE_MS;
	size_t body_len = body ? strlen(body) : 0, text_len = 0;
	char head[512], *text = NULL;
	int fd, n, ret;

	reply->status = 0;
	reply->body = NULL;
	fd = sock_connect(path);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-fd));
		return fd;
	}
	n = snprintf(head, sizeof(head),
		     "%s " API_PREFIX "%s HTTP/1.1\r\nHost: localhost\r\n"
		     "Accept: application/json\r\nConnection: close\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		     method, endpoint, body_len);
	ret = n > 0 && (size_t)n < sizeof(head) ? 0 : -EINVAL;
	if (!ret)
		ret = send_all(fd, head, (size_t)n, deadline);
	if (!ret && body_len)
		ret = send_all(fd, body, body_len, deadline);
	if (!ret)
		ret = recv_all(fd, &text, &text_len, deadline);
	if (!ret)
		ret = parse_reply(text, text_len, reply);
	if (ret == -EPROTO)
		snprintf(err, errlen, "%s: the answer is not HTTP from sardine", path);
	else if (ret)
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	free(text);
	close(fd);
	return ret;
}

void api_reply_free(struct api_reply *reply)
{
	free(reply->body);
	reply->body = NULL;
}

const char *api_reply_error(const struct api_reply *reply, char *buf, size_t len)
{
	struct json_object *doc = json_tokener_parse(reply->body ? reply->body : "");
	struct json_object *msg;

	if (doc && json_object_object_get_ex(doc, "error", &msg) &&
	    json_object_is_type(msg, json_type_string))
		snprintf(buf, len, "%s", json_object_get_string(msg));
	else
		snprintf(buf, len, "HTTP %u %.200s", reply->status, reply->body ? reply->body : "");
	json_object_put(doc);
	buf[strcspn(buf, "\r\n")] = '\0';
	return buf;
}
