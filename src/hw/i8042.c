#define LOG_TAG "i8042"
#include "hw/i8042.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"
#include "vmm/vm.h"

#define PORT_DATA 0x0   /* 0x60 */
#define PORT_STATUS 0x4 /* 0x64: status on read, command on write */
#define CMD_READ_CMD_BYTE 0x20
#define CMD_WRITE_CMD_BYTE 0x60
#define CMD_WRITE_OUTPUT 0xd1
#define CMD_PULSE_RESET 0xfe
#define STATUS_SYSFLAG 0x04
#define STATUS_CMD 0x08

static void i8042_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int len)
{
	struct i8042 *kbd = opaque;

	memset(data, 0, len);
	/* Output and input buffers always empty: no keyboard behind it. */
	if (offset == PORT_STATUS)
		data[0] = STATUS_SYSFLAG | STATUS_CMD;
	else if (offset == PORT_DATA)
		data[0] = kbd->s.command_byte;
}

static void i8042_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned int len)
{
	struct i8042 *kbd = opaque;
	uint8_t v = data[0];

	if (offset == PORT_STATUS) {
		kbd->s.pending_cmd = 0;
		if (v == CMD_PULSE_RESET || (v & 0xf1) == 0xf0) {
			/* 0xf0-0xff pulse output lines; bit 0 low is the reset. */
			if (!(v & 1) || v == CMD_PULSE_RESET) {
				log_debug("reset through the keyboard controller");
				vm_request_exit(kbd->vm, VM_EXIT_REBOOT);
			}
		} else if (v == CMD_WRITE_CMD_BYTE || v == CMD_WRITE_OUTPUT) {
			kbd->s.pending_cmd = v;
		}
	} else if (offset == PORT_DATA) {
		if (kbd->s.pending_cmd == CMD_WRITE_CMD_BYTE)
			kbd->s.command_byte = v;
		else if (kbd->s.pending_cmd == CMD_WRITE_OUTPUT && !(v & 1))
			vm_request_exit(kbd->vm, VM_EXIT_REBOOT);
		kbd->s.pending_cmd = 0;
	}
}

static const struct bus_ops i8042_ops = {
	.read = i8042_read,
	.write = i8042_write,
};

int i8042_create(struct i8042 **out, struct vm *vm, uint16_t port)
{
	struct i8042 *kbd = calloc(1, sizeof(*kbd));
	int ret;

	if (!kbd)
		return -ENOMEM;
	kbd->vm = vm;
	kbd->port = port;
	/* 0x60..0x64 as one range; 0x61 (PIT speaker) is KVM's and never
	 * reaches userspace, so no split is needed. */
	ret = bus_register(&vm->pio, port, 5, &i8042_ops, kbd);
	if (ret) {
		free(kbd);
		return ret;
	}
	*out = kbd;
	return 0;
}

void i8042_destroy(struct i8042 *kbd)
{
	if (!kbd)
		return;
	bus_unregister(&kbd->vm->pio, kbd->port, kbd);
	free(kbd);
}
