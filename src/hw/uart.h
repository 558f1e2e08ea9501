/* A 16550A UART (COM1), interrupt driven in both directions. */
#ifndef SARDINE_UART_H
#define SARDINE_UART_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>


struct vm;
struct console;

#define UART_RX_FIFO 64

/* Everything a snapshot needs, and nothing else. */
struct uart_state {
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	bool thr_ipending; /* "THR empty" interrupt not yet acknowledged */
	uint8_t rx[UART_RX_FIFO];
	uint8_t rx_head, rx_count;
};

struct uart {
	struct uart_state s;
	pthread_mutex_t lock;
	struct vm *vm;
	struct console *console; /* NULL: output discarded, no input */
	uint16_t port;
	unsigned int irq;
	int irq_level;
	bool rx_starved; /* refused input: kick the console when space frees */
	uint64_t tx_bytes, rx_bytes;
};

int uart_create(struct uart **out, struct vm *vm, uint16_t port, unsigned int irq,
		struct console *console);
void uart_destroy(struct uart *uart);

#endif
