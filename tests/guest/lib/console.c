/*
 * console.c - COM1 (polled 16550), the 0xe9 debug console and a small printf.
 */
#include "internal.h"
#include "io.h"

#define COM1_BASE    0x3f8
#define UART_THR     0      /* transmit holding register */
#define UART_LSR     5      /* line status register */
#define LSR_THRE     0x20   /* THR empty */
#define THRE_POLLS   100000 /* give up waiting on a broken UART */
#define DEBUGCON_PORT 0xe9

static unsigned int console_mask = CON_SERIAL;
static guest_spinlock_t console_lock;

unsigned int guest_console_set(unsigned int mask)
{
	unsigned int old = console_mask;

	console_mask = mask;
	return old;
}

static void con_putc(unsigned int mask, char c)
{
	if (mask & CON_SERIAL) {
		for (int i = 0; i < THRE_POLLS && !(inb(COM1_BASE + UART_LSR) & LSR_THRE); i++)
			;
		outb(COM1_BASE + UART_THR, (uint8_t)c);
	}
	if (mask & CON_DEBUGCON)
		outb(DEBUGCON_PORT, (uint8_t)c);
}

static void con_puts(unsigned int mask, const char *s)
{
	while (*s)
		con_putc(mask, *s++);
}

static void put_uint(unsigned int mask, unsigned long long v, unsigned int base, int width, char pad)
{
	char buf[24];
	int n = 0;

	do {
		unsigned int d = (unsigned int)(v % base);
		buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v);
	while (width-- > n)
		con_putc(mask, pad);
	while (n)
		con_putc(mask, buf[--n]);
}

static void vcprintf(unsigned int mask, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		int lng = 0, width = 0;
		char pad = ' ';
		unsigned long long u;
		long long s;

		if (*fmt != '%') {
			con_putc(mask, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i':
			s = lng ? va_arg(ap, long) : va_arg(ap, int);
			if (s < 0) {
				con_putc(mask, '-');
				u = (unsigned long long)-(s + 1) + 1;
			} else {
				u = (unsigned long long)s;
			}
			put_uint(mask, u, 10, width, pad);
			break;
		case 'u':
		case 'x':
			u = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			put_uint(mask, u, *fmt == 'u' ? 10 : 16, width, pad);
			break;
		case 'p':
			con_puts(mask, "0x");
			put_uint(mask, (uintptr_t)va_arg(ap, void *), 16, width, pad);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			con_puts(mask, str ? str : "(null)");
			break;
		}
		case 'c':
			con_putc(mask, (char)va_arg(ap, int));
			break;
		case '%':
			con_putc(mask, '%');
			break;
		case '\0':
			fmt--; /* lone '%' at the end */
			break;
		default:
			con_putc(mask, '%');
			con_putc(mask, *fmt);
			break;
		}
	}
}

void guest_vcprintf(unsigned int mask, const char *fmt, va_list ap)
{
	guest_spin_lock(&console_lock);
	vcprintf(mask, fmt, ap);
	guest_spin_unlock(&console_lock);
}

void guest_cprintf_nolock(unsigned int mask, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcprintf(mask, fmt, ap);
	va_end(ap);
}

void guest_cprintf(unsigned int mask, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	guest_vcprintf(mask, fmt, ap);
	va_end(ap);
}

void guest_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	guest_vcprintf(console_mask, fmt, ap);
	va_end(ap);
}

void guest_puts(unsigned int mask, const char *s)
{
	guest_spin_lock(&console_lock);
	con_puts(mask, s);
	guest_spin_unlock(&console_lock);
}

/* The compiler may emit calls to these even in freestanding code. */
void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}
