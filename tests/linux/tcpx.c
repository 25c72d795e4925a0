/* SPDX-License-Identifier: MIT */
/*
 * tcpx: one TCP transfer with a checked payload, for the Linux-guest tests
 * (built static: it runs inside the guest's initramfs and on the host side).
 *
 *   tcpx recv PORT            accept one connection and receive
 *   tcpx send HOST PORT BYTES connect and send BYTES
 *
 * The sender sends the length (8 bytes, little-endian) and then BYTES of a
 * pseudo-random stream (xorshift64 from a fixed seed); the receiver checks
 * every byte against the same stream and answers with the FNV-1a 64 hash of
 * what it received, which the sender compares with its own.  Both print one
 * line "tcpx: ..." with the size, the time and the rate; both exit 0 only
 * when the whole payload arrived intact.  When fd 3 is open, recv writes
 * "listening" to it and closes it once the socket listens (a shell waits for
 * that line instead of sleeping).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SEED 0x6d6f64766d6d7463ull   /* "modvmmtc" */
#define FNV64_OFFSET 0xcbf29ce484222325ull
#define FNV64_PRIME 0x100000001b3ull
#define CHUNK (64 * 1024)

struct stream {
	uint64_t x;
	uint64_t hash;
};

/* The next n bytes (n a multiple of 8) of the pseudo-random stream. */
static void gen(struct stream *s, uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		s->x ^= s->x << 13;
		s->x ^= s->x >> 7;
		s->x ^= s->x << 17;
		memcpy(buf + i, &s->x, 8);
	}
}

static void hash(struct stream *s, const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s->hash = (s->hash ^ buf[i]) * FNV64_PRIME;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int die(const char *what)
{
	fprintf(stdout, "tcpx: FAIL: %s: %s\n", what, strerror(errno));
	return 1;
}

static int full(int fd, void *buf, size_t n, int wr)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t k = wr ? write(fd, p, n) : read(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static void report(const char *verb, uint64_t bytes, double t0, const char *peer)
{
	double dt = now() - t0;
	printf("tcpx: %s %llu bytes %s %s in %.2f s (%.1f Mbit/s), payload intact\n", verb, (unsigned long long)bytes,
	       verb[0] == 's' ? "to" : "from", peer, dt, dt > 0 ? bytes * 8 / dt / 1e6 : 0.0);
}

static int do_recv(int port)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (ls < 0)
		return die("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 1))
		return die("bind/listen");
	if (write(3, "listening\n", 10) == 10)
		close(3);
	socklen_t al = sizeof(a);
	int fd = accept(ls, (struct sockaddr *)&a, &al);
	if (fd < 0)
		return die("accept");
	char peer[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &a.sin_addr, peer, sizeof(peer));
	double t0 = now();
	uint64_t len, got = 0;
	if (full(fd, &len, sizeof(len), 0))
		return die("reading the length");
	struct stream s = { SEED, FNV64_OFFSET };
	static uint8_t want[CHUNK], buf[CHUNK];
	while (got < len) {
		size_t n = len - got < CHUNK ? (size_t)(len - got) : CHUNK;
		gen(&s, want, (n + 7) & ~(size_t)7);
		if (full(fd, buf, n, 0)) {
			printf("tcpx: FAIL: the connection ended after %llu of %llu bytes\n", (unsigned long long)got,
			       (unsigned long long)len);
			return 1;
		}
		if (memcmp(buf, want, n)) {
			size_t i = 0;
			while (buf[i] == want[i])
				i++;
			printf("tcpx: FAIL: byte %llu differs\n", (unsigned long long)(got + i));
			return 1;
		}
		hash(&s, buf, n);
		got += n;
	}
	if (full(fd, &s.hash, sizeof(s.hash), 1))
		return die("answering");
	report("received", got, t0, peer);
	return 0;
}

static int do_send(const char *host, int port, uint64_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		printf("tcpx: FAIL: %s is not an IPv4 address\n", host);
		return 1;
	}
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return die("connect");
	double t0 = now();
	struct stream s = { SEED, FNV64_OFFSET };
	static uint8_t buf[CHUNK];
	if (full(fd, &len, sizeof(len), 1))
		return die("sending the length");
	for (uint64_t sent = 0; sent < len;) {
		size_t n = len - sent < CHUNK ? (size_t)(len - sent) : CHUNK;
		gen(&s, buf, (n + 7) & ~(size_t)7);
		hash(&s, buf, n);
		if (full(fd, buf, n, 1))
			return die("sending");
		sent += n;
	}
	uint64_t theirs;
	if (full(fd, &theirs, sizeof(theirs), 0))
		return die("reading the receiver's hash");
	if (theirs != s.hash) {
		printf("tcpx: FAIL: the receiver's hash %016llx differs from %016llx\n", (unsigned long long)theirs,
		       (unsigned long long)s.hash);
		return 1;
	}
	report("sent", len, t0, host);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "recv"))
		return do_recv(atoi(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "send"))
		return do_send(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 0));
	fprintf(stderr, "usage: tcpx recv PORT | tcpx send HOST PORT BYTES\n");
	return 2;
}
