/* Just enough of the i8042 keyboard controller for its reset line: the
 * kernel's "reboot=k" path pulses it, and Linux's reboot falls back to it. */
#ifndef SARDINE_I8042_H
#define SARDINE_I8042_H

#include <stdint.h>

struct vm;

struct i8042_state {
	uint8_t pending_cmd; /* a command waiting for its data byte */
	uint8_t command_byte;
};

struct i8042 {
	struct i8042_state s;
	struct vm *vm;
	uint16_t port;
};

int i8042_create(struct i8042 **out, struct vm *vm, uint16_t port);
void i8042_destroy(struct i8042 *kbd);

#endif
