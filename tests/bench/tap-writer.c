/* SPDX-License-Identifier: MIT */
/*
 * tap-writer: the host-only limit for guest -> tap.  Writes the frames the
 * benchmark guest sends (a 12-byte zero vnet header, then a broadcast frame of
 * SIZE bytes with ethertype 0x88b5), one writev() of one iovec each, into the
 * tap IFNAME for SECONDS, pinned to CPU: the same system call modvmm's tap
 * backend makes per frame.
 *   tap-writer IFNAME SIZE SECONDS CPU
 * Prints: tap-writer: size SIZE frames N seconds S mpps M
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define VNET_HDR_LEN 12     /* virtio 1.x struct virtio_net_hdr with num_buffers */
#define MAX_SIZE 2048
#define CHECK_EVERY 1024    /* frames between clock reads */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: tap-writer IFNAME SIZE SECONDS CPU\n");
		return 2;
	}
	unsigned size = (unsigned)atoi(argv[2]);
	double secs = atof(argv[3]);
	if (size < 60 || size > MAX_SIZE - VNET_HDR_LEN || secs <= 0) {
		fprintf(stderr, "tap-writer: bad size or duration\n");
		return 2;
	}
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(atoi(argv[4]), &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("tap-writer: sched_setaffinity");
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", argv[1]);
	int hdr = VNET_HDR_LEN;
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) || ioctl(fd, TUNSETVNETHDRSZ, &hdr)) {
		fprintf(stderr, "tap-writer: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	static unsigned char buf[MAX_SIZE];
	unsigned char *f = buf + VNET_HDR_LEN;
	memset(f, 0xff, 6);
	memcpy(f + 6, (unsigned char[]){ 0x52, 0x54, 0, 0x12, 0x34, 0x56 }, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	for (unsigned i = 14; i < size; i++)
		f[i] = (unsigned char)i;
	struct iovec iov = { buf, VNET_HDR_LEN + size };
	unsigned long n = 0, errs = 0;
	double t0 = now(), t = t0;
	while (t - t0 < secs) {
		for (unsigned k = 0; k < CHECK_EVERY; k++) {
			if (writev(fd, &iov, 1) < 0)
				errs++;
			else
				n++;
		}
		t = now();
	}
	printf("tap-writer: size %u frames %lu errors %lu seconds %.3f mpps %.3f\n", size, n, errs, t - t0,
	       (double)n / (t - t0) / 1e6);
	return errs && !n;
}
