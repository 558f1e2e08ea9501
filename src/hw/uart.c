#define LOG_TAG "uart"
#include "hw/uart.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/console.h"
#include "vmm/vm.h"

enum {
	REG_RBR_THR = 0, /* DLL when DLAB */
	REG_IER = 1,     /* DLM when DLAB */
	REG_IIR_FCR = 2,
	REG_LCR = 3,
	REG_MCR = 4,
	REG_LSR = 5,
	REG_MSR = 6,
	REG_SCR = 7,
};

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI 0x08
#define IIR_NONE 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_FIFO_ON 0xc0
#define FCR_FIFO_EN 0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_ERRORS 0x1e
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_DCD_DSR_CTS 0xb0

static uint8_t interrupt_id(const struct uart_state *s)
{
	if ((s->ier & IER_RLSI) && (s->lsr & LSR_ERRORS))
		return IIR_RLSI;
	if ((s->ier & IER_RDI) && s->rx_count)
		return IIR_RDI;
	if ((s->ier & IER_THRI) && s->thr_ipending)
		return IIR_THRI;
	if ((s->ier & IER_MSI) && (s->msr & 0x0f))
		return IIR_MSI;
	return IIR_NONE;
}

/* The ISA line follows "an interrupt is pending"; the irqchip sees edges. */
static void update_irq(struct uart *u)
{
	int level = interrupt_id(&u->s) != IIR_NONE;

	if (level != u->irq_level) {
		u->irq_level = level;
		vm_set_irq_line(u->vm, u->irq, level);
	}
}

static void rx_push(struct uart *u, uint8_t c)
{
	struct uart_state *s = &u->s;

	if (s->rx_count == UART_RX_FIFO) {
		s->lsr |= 0x02; /* overrun */
		return;
	}
	s->rx[(s->rx_head + s->rx_count) % UART_RX_FIFO] = c;
	s->rx_count++;
	s->lsr |= LSR_DR;
}

static uint8_t rx_pop(struct uart *u)
{
	struct uart_state *s = &u->s;
	uint8_t c;

	if (!s->rx_count)
		return 0;
	c = s->rx[s->rx_head];
	s->rx_head = (uint8_t)((s->rx_head + 1) % UART_RX_FIFO);
	s->rx_count--;
	if (!s->rx_count)
		s->lsr &= (uint8_t)~LSR_DR;
	u->rx_bytes++;
	return c;
}

static size_t uart_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct uart *u = opaque;
	size_t n;

	pthread_mutex_lock(&u->lock);
	/* Loopback mode disconnects the outside world. */
	if (u->s.mcr & MCR_LOOP) {
		n = 0;
	} else {
		for (n = 0; n < len && u->s.rx_count < UART_RX_FIFO; n++)
			rx_push(u, buf[n]);
	}
	u->rx_starved = n < len;
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

static void transmit(struct uart *u, uint8_t c)
{
	if (u->s.mcr & MCR_LOOP) {
		rx_push(u, c);
	} else {
		u->tx_bytes++;
		if (u->console)
			console_write(u->console, &c, 1);
	}
	/* The byte left at once: THR is empty again. */
	u->s.thr_ipending = true;
	u->s.lsr |= LSR_THRE | LSR_TEMT;
}

static uint8_t modem_status(const struct uart_state *s)
{
	uint8_t mcr = s->mcr;

	if (!(mcr & MCR_LOOP))
		return MSR_DCD_DSR_CTS;
	/* Loopback: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD (8250 probing). */
	return (uint8_t)(((mcr & 0x02) << 3) | ((mcr & 0x01) << 5) | ((mcr & 0x04) << 4) |
			 ((mcr & 0x08) << 4));
}

static uint8_t reg_read(struct uart *u, unsigned int reg)
{
	struct uart_state *s = &u->s;
	uint8_t v;

	switch (reg) {
	case REG_RBR_THR:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		v = rx_pop(u);
		if (u->rx_starved && u->console) {
			u->rx_starved = false;
			console_kick(u->console);
		}
		return v;
	case REG_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case REG_IIR_FCR:
		v = interrupt_id(s);
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if (v == IIR_THRI)
			s->thr_ipending = false;
		return v | ((s->fcr & FCR_FIFO_EN) ? IIR_FIFO_ON : 0);
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		v = s->lsr;
		s->lsr &= (uint8_t)~LSR_ERRORS; /* errors clear on read */
		return v;
	case REG_MSR:
		return modem_status(s);
	default:
		return s->scr;
	}
}

static void reg_write(struct uart *u, unsigned int reg, uint8_t v)
{
	struct uart_state *s = &u->s;

	switch (reg) {
	case REG_RBR_THR:
		if (s->lcr & LCR_DLAB)
			s->dll = v;
		else
			transmit(u, v);
		break;
	case REG_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* Enabling the THR interrupt with THR empty fires it at once:
		 * the 8250 driver relies on that to start transmitting. */
		if ((v & IER_THRI) && !(s->ier & IER_THRI) && (s->lsr & LSR_THRE))
			s->thr_ipending = true;
		s->ier = v & 0x0f;
		break;
	case REG_IIR_FCR:
		if (v & FCR_CLEAR_RX) {
			s->rx_count = 0;
			s->lsr &= (uint8_t)~LSR_DR;
		}
		s->fcr = v & 0xc9;
		break;
	case REG_LCR:
		s->lcr = v;
		break;
	case REG_MCR:
		s->mcr = v & 0x1f;
		break;
	case REG_SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read only */
		break;
	}
}

static void uart_io_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int len)
{
	struct uart *u = opaque;

	pthread_mutex_lock(&u->lock);
	data[0] = reg_read(u, (unsigned int)offset);
	for (unsigned int i = 1; i < len; i++)
		data[i] = 0xff;
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static void uart_io_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned int len)
{
	struct uart *u = opaque;

	pthread_mutex_lock(&u->lock);
	reg_write(u, (unsigned int)offset, data[0]);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static const struct bus_ops uart_ops = {
	.read = uart_io_read,
	.write = uart_io_write,
};

int uart_create(struct uart **out, struct vm *vm, uint16_t port, unsigned int irq,
		struct console *console)
{
	struct uart *u = calloc(1, sizeof(*u));
	int ret;

	if (!u)
		return -ENOMEM;
	pthread_mutex_init(&u->lock, NULL);
	u->vm = vm;
	u->port = port;
	u->irq = irq;
	u->console = console;
	u->s.lsr = LSR_THRE | LSR_TEMT;
	u->s.mcr = 0x08; /* OUT2 */
	ret = bus_register(&vm->pio, port, 8, &uart_ops, u);
	if (ret) {
		free(u);
		return ret;
	}
	if (console) {
		struct console_sink sink = { .receive = uart_receive, .opaque = u };

		console_set_sink(console, &sink);
	}
	*out = u;
	return 0;
}

void uart_destroy(struct uart *u)
{
	if (!u)
		return;
	if (u->console)
		console_set_sink(u->console, NULL);
	bus_unregister(&u->vm->pio, u->port, u);
	pthread_mutex_destroy(&u->lock);
	free(u);
}
