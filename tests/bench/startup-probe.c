/* SPDX-License-Identifier: MIT */
/*
 * startup-probe RUNS -- COMMAND [ARGS]: run COMMAND RUNS times with its stdout on
 * a pipe; for each run measure the time from exec to the first byte the guest
 * writes, then read the process's RSS split into guest RAM (shared memory) and
 * the rest, stop it with SIGTERM and wait.  Prints the medians as one line:
 *   first_byte_ms=X rss_beyond_shmem_kib=Y
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long v = -1;
	size_t n = strlen(field);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 4 || strcmp(argv[2], "--")) {
		fprintf(stderr, "usage: %s RUNS -- COMMAND [ARGS]\n", argv[0]);
		return 2;
	}
	int runs = atoi(argv[1]);
	if (runs < 1 || runs > 1000)
		return 2;
	double *t = calloc((size_t)runs, sizeof(double)), *rss = calloc((size_t)runs, sizeof(double));
	for (int i = 0; i < runs; i++) {
		int p[2];
		if (pipe(p))
			return 1;
		double start = now_ms();
		pid_t pid = fork();
		if (pid == 0) {
			dup2(p[1], 1);
			close(p[0]);
			close(p[1]);
			execvp(argv[3], argv + 3);
			_exit(127);
		}
		close(p[1]);
		char c;
		if (read(p[0], &c, 1) != 1) {
			fprintf(stderr, "startup-probe: %s produced no output\n", argv[3]);
			return 1;
		}
		t[i] = now_ms() - start;
		long total = status_kib(pid, "VmRSS"), shmem = status_kib(pid, "RssShmem");
		rss[i] = (double)(total - (shmem > 0 ? shmem : 0));
		kill(pid, SIGTERM);
		close(p[0]);
		waitpid(pid, NULL, 0);
	}
	qsort(t, (size_t)runs, sizeof(double), cmp);
	qsort(rss, (size_t)runs, sizeof(double), cmp);
	printf("first_byte_ms=%.2f rss_beyond_shmem_kib=%.0f\n", t[runs / 2], rss[runs / 2]);
	free(t);
	free(rss);
	return 0;
}
