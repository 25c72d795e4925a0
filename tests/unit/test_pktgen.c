/* SPDX-License-Identifier: MIT */
/* <modvmm-netmap/pktgen.h>: the frame writer, the receiver's accounting, the echo. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <modvmm-netmap/pktgen.h>

static const uint8_t macs[12] = { 0x02, 0, 0, 0, 0, 0x0a, 0x02, 0, 0, 0, 0, 0x0b };

/* A buffer with a canary after the frame: the writer stops at `size`. */
static void fill_sizes(void **state)
{
	static const unsigned sizes[] = { PKTGEN_MIN_SIZE, 41, 47, 48, 60, 64, 65, 1514 };
	uint8_t buf[1600];

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned size = sizes[i];
		const struct pktgen_hdr *h = (const struct pktgen_hdr *)buf;

		memset(buf, 0xa5, sizeof(buf));
		pktgen_fill(buf, macs, 77, 1000 + i, PKTGEN_F_FIN, 123456789, size);
		assert_memory_equal(h->dst, macs, 6);
		assert_memory_equal(h->src, macs + 6, 6);
		assert_int_equal(h->ethertype[0], 0x88);
		assert_int_equal(h->ethertype[1], 0xb5);
		assert_int_equal(h->flags, PKTGEN_F_FIN);
		assert_int_equal(h->magic, PKTGEN_MAGIC);
		assert_int_equal(h->session, 77);
		assert_int_equal(h->seq, 1000 + i);
		assert_int_equal(h->tstamp_ns, 123456789);
		for (unsigned k = PKTGEN_MIN_SIZE; k < size; k++)
			assert_int_equal(buf[k], 0);
		for (unsigned k = size; k < sizeof(buf); k++)
			assert_int_equal(buf[k], 0xa5);
	}
}

static void rx_check(void **state)
{
	struct pktgen_rx_state st = { 0 };
	uint8_t buf[64];

	(void)state;
	pktgen_fill(buf, macs, 5, 10, 0, 0, sizeof(buf)); /* joins late: starts a session */
	assert_int_equal(pktgen_rx_check(&st, buf, sizeof(buf)), 1);
	assert_int_equal(st.first, 10);
	pktgen_fill(buf, macs, 5, 11, 0, 0, sizeof(buf));
	assert_int_equal(pktgen_rx_check(&st, buf, sizeof(buf)), 0);
	pktgen_fill(buf, macs, 9, 0, PKTGEN_F_HELLO, 0, sizeof(buf)); /* a switch port's hello */
	assert_int_equal(pktgen_rx_check(&st, buf, sizeof(buf)), 2);
	assert_int_equal(st.sessions, 1);
	assert_int_equal(st.packets, 2);
	pktgen_fill(buf, macs, 5, 13, 0, 0, sizeof(buf)); /* 12 lost */
	assert_int_equal(pktgen_rx_check(&st, buf, sizeof(buf)), -1);
	pktgen_fill(buf, macs, 5, 13, 0, 0, sizeof(buf)); /* duplicated */
	assert_int_equal(pktgen_rx_check(&st, buf, sizeof(buf)), -1);
	pktgen_fill(buf, macs, 5, 14, PKTGEN_F_FIN, 0, sizeof(buf));
	assert_int_equal(pktgen_rx_check(&st, buf, sizeof(buf)), 0);
	assert_true(st.fin);
	assert_int_equal(st.packets, 5);
	assert_int_equal(st.errors, 2);

	assert_int_equal(pktgen_rx_check(&st, buf, PKTGEN_MIN_SIZE - 1), -1); /* short */
	buf[12] = 0x08; /* another EtherType */
	assert_int_equal(pktgen_rx_check(&st, buf, sizeof(buf)), -1);
	pktgen_fill(buf, macs, 6, 0, 0, 0, sizeof(buf)); /* a new session */
	assert_int_equal(pktgen_rx_check(&st, buf, sizeof(buf)), 1);
	assert_int_equal(st.sessions, 2);
	assert_false(st.fin);
	assert_int_equal(st.errors, 4);
}

static void pong(void **state)
{
	uint8_t buf[64];
	const struct pktgen_hdr *h = (const struct pktgen_hdr *)buf;

	(void)state;
	pktgen_fill(buf, macs, 1, 2, PKTGEN_F_PING | PKTGEN_F_FIN, 99, sizeof(buf));
	assert_true(pktgen_pong(buf, sizeof(buf)));
	assert_int_equal(h->flags, PKTGEN_F_PONG | PKTGEN_F_FIN);
	assert_int_equal(h->tstamp_ns, 99);
	assert_false(pktgen_pong(buf, sizeof(buf))); /* a pong is not answered */
	pktgen_fill(buf, macs, 1, 3, 0, 0, sizeof(buf));
	assert_false(pktgen_pong(buf, sizeof(buf))); /* nor plain data */
	pktgen_fill(buf, macs, 1, 4, PKTGEN_F_PING, 0, sizeof(buf));
	assert_false(pktgen_pong(buf, PKTGEN_MIN_SIZE - 1)); /* nor a short frame */
	assert_int_equal(h->flags, PKTGEN_F_PING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fill_sizes),
		cmocka_unit_test(rx_check),
		cmocka_unit_test(pong),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
