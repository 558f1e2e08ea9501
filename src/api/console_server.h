/* --console socket: COM1's console on a Unix socket next to the API socket
 * (DIR/NAME.console), for `sardine console NAME`.  One client at a time; a
 * second one is told so and closed.  While nobody is attached the guest's
 * output is dropped, never buffered without bound, and never blocks it. */
#ifndef SARDINE_API_CONSOLE_SERVER_H
#define SARDINE_API_CONSOLE_SERVER_H

#include <stddef.h>

struct console;
struct event_loop;
struct console_server;

int console_server_create(struct console_server **out, const char *path,
			  struct event_loop *loop, char *err, size_t errlen);
void console_server_destroy(struct console_server *cs);
/* What the VM's UART writes to and reads from. */
struct console *console_server_console(struct console_server *cs);

#endif
