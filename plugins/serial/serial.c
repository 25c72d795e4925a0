/* SPDX-License-Identifier: MIT */
/*
 * serial: a 16550A UART (register layout per the National Semiconductor PC16550D
 * data sheet).  Output goes to stdout, stderr, a file or nowhere; input comes from
 * stdin when it is a terminal (raw mode; Ctrl-A x stops the VM, Ctrl-A Ctrl-A sends
 * Ctrl-A).  Transmission is instantaneous: THR is always empty.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

#include <modvmm/plugin.h>

#include "out.h"

/* Register offsets (DLAB = LCR bit 7 selects the divisor latch at 0 and 1). */
enum { REG_RBR_THR = 0, REG_IER = 1, REG_IIR_FCR = 2, REG_LCR = 3, REG_MCR = 4, REG_LSR = 5, REG_MSR = 6, REG_SCR = 7 };
#define UART_PORTS 8

#define IER_RDI  0x01   /* received data available */
#define IER_THRI 0x02   /* transmitter holding register empty */
#define IER_MASK 0x0f
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI  0x04
#define IIR_FIFO 0xc0   /* FIFOs enabled */
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f
#define LSR_DR   0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_DCD_DSR_CTS 0xb0

#define ACPI_ISA_IRQS 16 /* an ACPI IRQ descriptor names IRQs 0-15 only */
#define RX_FIFO 64
#define CTRL_A 0x01

struct serial {
	const struct modvmm_host *host;
	struct modvmm_dev *dev;
	pthread_mutex_t lock;
	unsigned irq;
	int irq_level;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thri_pending;       /* THR-empty interrupt not yet acknowledged */
	unsigned long long bytes_out, bytes_in, raises; /* for the -v summary at stop */
	uint8_t rx[RX_FIFO];
	unsigned rx_head, rx_count;
	struct out out;
	int in_fd;               /* -1: no input */
	bool in_watched;
	bool escape;             /* Ctrl-A seen */
	bool tty_saved;
	struct termios saved;
};

/* Recompute the interrupt line; caller holds the lock. */
static void update_irq(struct serial *s)
{
	int level = ((s->ier & IER_RDI) && s->rx_count) || ((s->ier & IER_THRI) && s->thri_pending);
	if (level != s->irq_level) {
		s->irq_level = level;
		s->raises += level;
		s->host->irq_line(s->dev, s->irq, level);
	}
}

static uint8_t iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;
	if ((s->ier & IER_RDI) && s->rx_count)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->thri_pending)
		return fifo | IIR_THRI;
	return fifo | IIR_NONE;
}

static void rx_push(struct serial *s, uint8_t c)
{
	if (s->rx_count == RX_FIFO)
		return; /* overrun: the byte is dropped, as on the real chip */
	s->rx[(s->rx_head + s->rx_count++) % RX_FIFO] = c;
}

static void input_ready(void *opaque, int fd, uint32_t events);

/* Watch stdin only while the FIFO has room; caller holds the lock. */
static void update_input_watch(struct serial *s)
{
	bool want = s->in_fd >= 0 && s->rx_count < RX_FIFO;
	if (want == s->in_watched)
		return;
	if (want)
		want = s->host->fd_watch(s->dev, s->in_fd, EPOLLIN, input_ready, s) == 0;
	else
		s->host->fd_unwatch(s->dev, s->in_fd);
	s->in_watched = want;
}

static uint64_t serial_read(void *opaque, uint64_t offset, unsigned size)
{
	struct serial *s = opaque;
	uint8_t v = 0xff;
	pthread_mutex_lock(&s->lock);
	switch (offset) {
	case REG_RBR_THR:
		if (s->lcr & LCR_DLAB) {
			v = s->dll;
		} else {
			v = 0;
			if (s->rx_count) {
				v = s->rx[s->rx_head];
				s->rx_head = (s->rx_head + 1) % RX_FIFO;
				s->rx_count--;
				update_input_watch(s);
			}
		}
		break;
	case REG_IER:
		v = (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
		break;
	case REG_IIR_FCR:
		v = iir(s);
		if ((v & 0x0f) == IIR_THRI)
			s->thri_pending = false; /* reading IIR acknowledges THRE */
		break;
	case REG_LCR: v = s->lcr; break;
	case REG_MCR: v = s->mcr; break;
	case REG_LSR: v = LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0); break;
	case REG_MSR: v = MSR_DCD_DSR_CTS; break;
	case REG_SCR: v = s->scr; break;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return v;
}

static void serial_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct serial *s = opaque;
	uint8_t v = (uint8_t)value;
	pthread_mutex_lock(&s->lock);
	switch (offset) {
	case REG_RBR_THR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
		} else {
			if (s->mcr & MCR_LOOP)
				rx_push(s, v);
			else
				out_write(&s->out, &v, 1);
			s->bytes_out++;
			s->thri_pending = true;
		}
		break;
	case REG_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
		} else {
			/* enabling THRI with an empty THR raises the interrupt at once */
			if (!(s->ier & IER_THRI) && (v & IER_THRI))
				s->thri_pending = true;
			s->ier = v & IER_MASK;
		}
		break;
	case REG_IIR_FCR:
		s->fcr = v & FCR_ENABLE;
		if (v & FCR_CLEAR_RX) {
			s->rx_count = 0;
			update_input_watch(s);
		}
		break;
	case REG_LCR: s->lcr = v; break;
	case REG_MCR: s->mcr = v & MCR_MASK; break;
	case REG_SCR: s->scr = v; break;
	default: break; /* LSR and MSR are read-only */
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void input_ready(void *opaque, int fd, uint32_t events)
{
	struct serial *s = opaque;
	uint8_t buf[RX_FIFO];
	pthread_mutex_lock(&s->lock);
	size_t room = RX_FIFO - s->rx_count;
	ssize_t n = room ? read(fd, buf, room) : 0;
	bool quit = false;
	for (ssize_t i = 0; i < n; i++) {
		if (s->escape) {
			s->escape = false;
			if (buf[i] == 'x') {
				quit = true;
				break;
			}
			if (buf[i] != CTRL_A)
				continue;
		} else if (buf[i] == CTRL_A) {
			s->escape = true;
			continue;
		}
		rx_push(s, buf[i]);
		s->bytes_in++;
	}
	if (n == 0 && room) { /* EOF on stdin: stop listening */
		s->host->fd_unwatch(s->dev, s->in_fd);
		s->in_fd = -1;
		s->in_watched = false;
	}
	update_input_watch(s);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	if (quit)
		s->host->vm_exit(s->dev, 0);
}

static const struct modvmm_io_ops serial_ops = { .read = serial_read, .write = serial_write };

static void restore_tty(struct serial *s)
{
	if (s->tty_saved)
		tcsetattr(s->in_fd >= 0 ? s->in_fd : STDIN_FILENO, TCSAFLUSH, &s->saved);
	s->tty_saved = false;
}

static int serial_start(void *priv)
{
	struct serial *s = priv;
	if (s->in_fd < 0)
		return 0;
	if (isatty(s->in_fd) && tcgetattr(s->in_fd, &s->saved) == 0) {
		struct termios raw = s->saved;
		cfmakeraw(&raw);
		raw.c_oflag |= OPOST | ONLCR; /* keep "\n" -> "\r\n" on output */
		s->tty_saved = tcsetattr(s->in_fd, TCSANOW, &raw) == 0;
	}
	pthread_mutex_lock(&s->lock);
	update_input_watch(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void serial_stop(void *priv)
{
	struct serial *s = priv;
	pthread_mutex_lock(&s->lock);
	/* the state at the end tells a stalled console (a guest waiting for an
	 * interrupt) from a stopped guest */
	s->host->log(s->dev, MODVMM_LOG_INFO,
	             "%llu bytes out, %llu in; interrupt raised %llu times; at stop IER 0x%02x, line %s, "
	             "THR-empty interrupt %s, %u input bytes waiting",
	             s->bytes_out, s->bytes_in, s->raises, s->ier, s->irq_level ? "high" : "low",
	             s->thri_pending ? "pending" : "acknowledged", s->rx_count);
	if (s->in_watched)
		s->host->fd_unwatch(s->dev, s->in_fd);
	s->in_watched = false;
	pthread_mutex_unlock(&s->lock);
	restore_tty(s);
}

static void serial_destroy(void *priv)
{
	struct serial *s = priv;
	if (!s)
		return;
	restore_tty(s);
	out_close(&s->out);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int serial_create(const struct modvmm_host *host, struct modvmm_dev *dev, void **priv)
{
	struct serial *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*s = (struct serial){ .host = host, .dev = dev, .in_fd = -1, .out.fd = -1 };
	pthread_mutex_init(&s->lock, NULL);
	*priv = s;
	uint64_t port, irq;
	int ret = host->config_u64(dev, "port", &port);
	if (!ret)
		ret = host->config_u64(dev, "irq", &irq);
	if (ret)
		return ret;
	s->irq = (unsigned)irq;
	if (irq < ACPI_ISA_IRQS) {
		/* a PNP0501 node lets the guest find the port without probing */
		struct modvmm_acpi_node node = { .size = sizeof(node), .prefix = "COM", .hid = "PNP0501",
		                                 .nio = 1, .nirq = 1 };
		node.io[0].base = (uint16_t)port;
		node.io[0].len = UART_PORTS;
		node.irq[0] = (uint8_t)irq;
		if ((ret = host->acpi_node(dev, &node)))
			return ret;
	}
	ret = out_open(&s->out, host->config_str(dev, "output"), host->config_str(dev, "file"));
	if (ret) {
		host->log(dev, MODVMM_LOG_ERROR, "cannot open output file %s: %s", host->config_str(dev, "file"),
		          strerror(-ret));
		return ret;
	}
	const char *input = host->config_str(dev, "input");
	if (!strcmp(input, "stdin") || (!strcmp(input, "auto") && isatty(STDIN_FILENO)))
		s->in_fd = STDIN_FILENO;
	return host->io_register(dev, MODVMM_IO_PIO, port, UART_PORTS, &serial_ops, s, NULL);
}

static int serial_validate(const struct modvmm_check_ops *chk, struct modvmm_check *c)
{
	return out_check(chk, c, "output", "file");
}

static const struct modvmm_key keys[] = {
	{ .name = "port", .type = MODVMM_KEY_IOPORT, .def = "0x3f8", .span = UART_PORTS,
	  .help = "I/O port base (COM1 0x3f8, COM2 0x2f8)" },
	{ .name = "irq", .type = MODVMM_KEY_IRQ, .def = "4", .help = "ISA interrupt (COM1 4, COM2 3), an IOAPIC pin" },
	{ .name = "output", .type = MODVMM_KEY_ENUM, .def = "stdout", .choices = OUT_CHOICES,
	  .help = "where transmitted bytes go" },
	{ .name = "file", .type = MODVMM_KEY_PATH, .help = "file for output = file (appended)" },
	{ .name = "input", .type = MODVMM_KEY_ENUM, .def = "auto", .choices = "auto|stdin|none",
	  .help = "auto: stdin when it is a terminal (Ctrl-A x quits)" },
	{ 0 },
};

MODVMM_PLUGIN_DEFINE = {
	MODVMM_PLUGIN_ABI,
	.kind = MODVMM_KIND_DEVICE,
	.name = "serial",
	.description = "16550A UART",
	.keys = keys,
	.create = serial_create,
	.start = serial_start,
	.stop = serial_stop,
	.destroy = serial_destroy,
	.validate = serial_validate,
};
