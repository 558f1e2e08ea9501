/* The client side of the API, for sardine's own commands (list, info,
 * pause ...): one HTTP/1.1 request per connection on a VM's socket. */
#ifndef SARDINE_API_CLIENT_H
#define SARDINE_API_CLIENT_H

#include <stddef.h>

struct api_reply {
	unsigned int status;
	char *body; /* NUL-terminated, malloc'd; "" when there was none */
};

/* method "GET"/"PUT", endpoint "vm.pause", body NULL or JSON.  Returns 0
 * with reply filled, or -errno: -ENOENT (no socket there), -ECONNREFUSED
 * (a stale socket), -ETIMEDOUT, -EPROTO (not an HTTP answer), with a reason
 * in err. */
int api_client_call(const char *path, const char *method, const char *endpoint,
		    const char *body, struct api_reply *reply, char *err, size_t errlen);
void api_reply_free(struct api_reply *reply);
/* The "error" of an error reply's JSON body, else the body itself. */
const char *api_reply_error(const struct api_reply *reply, char *buf, size_t len);

#endif
