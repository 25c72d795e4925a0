/* SPDX-License-Identifier: MIT */
/*
 * raw-kvm: the limit for the pci-exits benchmark.  A minimal standalone KVM
 * program (no modvmm code): one vCPU started directly in 64-bit mode at CPL3,
 * running the same write loops as tests/guest/pci-bench.c, with an empty
 * handler for PIO and MMIO exits and KVM ioeventfds for the doorbell writes.
 *
 * usage: raw-kvm TRAP_N BELL_N ROUNDS [--reader] [--cpu N]   (N = 0 skips those kinds)
 *   --reader  a thread blocks in poll() on the doorbell eventfds and reads them,
 *             as pci-testdev's worker thread does; without it nobody reads.
 *   --cpu N   run the vCPU on host CPU N (the reader thread is not pinned), as
 *             modvmm's [vm] vcpu_affinity = N does.
 * Prints, per round: "bench KIND round=K n=N cycles=C" (KIND: pio_trap,
 * mmio_trap, pio_bell, mmio_bell; cycles of the guest TSC for N writes), and
 * "tsc_hz=F" (the TSC frequency, calibrated against CLOCK_MONOTONIC).
 */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE    0x200000ull  /* 2 MiB of RAM at gpa 0 */
#define PML4_GPA    0x1000ull
#define PDPT_GPA    0x2000ull
#define PD_LOW_GPA  0x3000ull    /* 0-1 GiB */
#define PD_MMIO_GPA 0x4000ull    /* 3-4 GiB, where the MMIO addresses are */
#define TSS_GPA     0x5000ull
#define CODE_GPA    0x10000ull
#define KVM_TSS_GPA 0xfffbd000ull /* three pages KVM needs on Intel */

#define TRAP_PORT   0x1008       /* same offsets as pci-testdev: SCRATCH, DOORBELL */
#define BELL_PORT   0x1040
#define DONE_PORT   0x1100
#define TRAP_ADDR   0xc0001008ull
#define BELL_ADDR   0xc0001040ull

/* x86-64 paging and segments (Intel SDM vol. 3A §4.5, §3.4.5, §8.7). */
#define PTE_P   0x001ull
#define PTE_RW  0x002ull
#define PTE_US  0x004ull
#define PTE_PWT 0x008ull
#define PTE_PCD 0x010ull
#define PTE_PS  0x080ull
#define CR0_PE  0x1ull
#define CR0_ET  0x10ull
#define CR0_NE  0x20ull
#define CR0_PG  0x80000000ull
#define CR4_PAE 0x20ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull
#define SEG_CODE_XR_ACCESSED 0xb
#define SEG_DATA_RW_ACCESSED 0x3
#define SEG_TSS64_BUSY       0xb
#define TSS_IOPB_OFF 104         /* I/O permission bitmap right after the 64-bit TSS */
#define IOPB_BYTES   (65536 / 8)

enum kind { PIO_TRAP, MMIO_TRAP, PIO_BELL, MMIO_BELL, KINDS };
static const char *const kind_name[KINDS] = { "pio_trap", "mmio_trap", "pio_bell", "mmio_bell" };

/*
 * The guest: rsi = 0 for port writes to dx, 1 for MMIO writes to (rdi); rcx =
 * count; r9 = the "done" port.  Returns the TSC cycles of the loop in rbx.  The
 * loops are the instructions of pci-bench.c's loops.
 */
__asm__(
	".pushsection .rodata\n"
	".globl raw_guest_start, raw_guest_end\n"
	"raw_guest_start:\n"
	"	mov %rdx, %r8\n"
	"	rdtsc\n"
	"	shl $32, %rdx\n"
	"	or %rax, %rdx\n"
	"	mov %rdx, %r10\n"
	"	mov %r8, %rdx\n"
	"	xor %eax, %eax\n"
	"	test %rsi, %rsi\n"
	"	jnz 2f\n"
	"1:	outl %eax, %dx\n"
	"	dec %rcx\n"
	"	jnz 1b\n"
	"	jmp 3f\n"
	"2:	movl %eax, (%rdi)\n"
	"	dec %rcx\n"
	"	jnz 2b\n"
	"3:	rdtsc\n"
	"	shl $32, %rdx\n"
	"	or %rax, %rdx\n"
	"	sub %r10, %rdx\n"
	"	mov %rdx, %rbx\n"
	"	mov %r9, %rdx\n"
	"	outb %al, %dx\n"
	"	jmp 3b\n"
	"raw_guest_end:\n"
	".popsection\n");
extern const uint8_t raw_guest_start[], raw_guest_end[];

struct raw {
	int kvm, vm, cpu;
	struct kvm_run *run;
	uint8_t *mem;
	int bell_fd[2];
	int stop_fd;
};

static void die(const char *what)
{
	fprintf(stderr, "raw-kvm: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void setup_memory(struct raw *r)
{
	r->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->mem == MAP_FAILED)
		die("mmap");
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE, .userspace_addr = (uintptr_t)r->mem,
	};
	if (ioctl(r->vm, KVM_SET_USER_MEMORY_REGION, &region))
		die("KVM_SET_USER_MEMORY_REGION");
	uint64_t *pml4 = (uint64_t *)(r->mem + PML4_GPA), *pdpt = (uint64_t *)(r->mem + PDPT_GPA);
	uint64_t *pd_low = (uint64_t *)(r->mem + PD_LOW_GPA), *pd_mmio = (uint64_t *)(r->mem + PD_MMIO_GPA);
	const uint64_t table = PTE_P | PTE_RW | PTE_US;
	pml4[0] = PDPT_GPA | table;
	pdpt[0] = PD_LOW_GPA | table;
	pdpt[3] = PD_MMIO_GPA | table;
	for (uint64_t i = 0; i < 512; i++) {
		pd_low[i] = (i << 21) | table | PTE_PS;
		pd_mmio[i] = ((3ull << 30) + (i << 21)) | table | PTE_PS | PTE_PWT | PTE_PCD;
	}
	/* 64-bit TSS: iopb offset at byte 102; the bitmap (all ports allowed) and
	 * its 0xff terminator follow at TSS_IOPB_OFF. */
	uint8_t *tss = r->mem + TSS_GPA;
	uint16_t iopb = TSS_IOPB_OFF;
	memcpy(tss + 102, &iopb, sizeof(iopb));
	tss[TSS_IOPB_OFF + IOPB_BYTES] = 0xff;
	memcpy(r->mem + CODE_GPA, raw_guest_start, (size_t)(raw_guest_end - raw_guest_start));
}

static void user_segment(struct kvm_segment *s, uint16_t sel, uint8_t type, int code)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type, .present = 1,
		.dpl = 3, .db = code ? 0 : 1, .s = 1, .l = code ? 1 : 0, .g = 1,
	};
}

static void setup_vcpu(struct raw *r)
{
	r->cpu = ioctl(r->vm, KVM_CREATE_VCPU, 0);
	if (r->cpu < 0)
		die("KVM_CREATE_VCPU");
	int sz = ioctl(r->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	r->run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, r->cpu, 0);
	if (r->run == MAP_FAILED)
		die("mmap kvm_run");
	struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) + 256 * sizeof(cpuid->entries[0]));
	if (!cpuid)
		die("calloc");
	cpuid->nent = 256;
	if (ioctl(r->kvm, KVM_GET_SUPPORTED_CPUID, cpuid) || ioctl(r->cpu, KVM_SET_CPUID2, cpuid))
		die("CPUID");
	free(cpuid);

	struct kvm_sregs s;
	if (ioctl(r->cpu, KVM_GET_SREGS, &s))
		die("KVM_GET_SREGS");
	user_segment(&s.cs, 0x2b, SEG_CODE_XR_ACCESSED, 1);
	user_segment(&s.ss, 0x23, SEG_DATA_RW_ACCESSED, 0);
	s.ds = s.es = s.fs = s.gs = s.ss;
	s.tr = (struct kvm_segment){
		.base = TSS_GPA, .limit = TSS_IOPB_OFF + IOPB_BYTES, .selector = 0x30,
		.type = SEG_TSS64_BUSY, .present = 1,
	};
	s.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	s.cr3 = PML4_GPA;
	s.cr4 = CR4_PAE;
	s.efer = EFER_LME | EFER_LMA;
	if (ioctl(r->cpu, KVM_SET_SREGS, &s))
		die("KVM_SET_SREGS");
}

static int add_bell(struct raw *r, uint64_t addr, int pio)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		die("eventfd");
	struct kvm_ioeventfd req = { .addr = addr, .len = 0, .fd = fd, .flags = pio ? KVM_IOEVENTFD_FLAG_PIO : 0 };
	if (ioctl(r->vm, KVM_IOEVENTFD, &req))
		die("KVM_IOEVENTFD");
	return fd;
}

static void *reader(void *arg)
{
	struct raw *r = arg;
	struct pollfd p[3] = {
		{ .fd = r->bell_fd[0], .events = POLLIN },
		{ .fd = r->bell_fd[1], .events = POLLIN },
		{ .fd = r->stop_fd, .events = POLLIN },
	};
	uint64_t n;
	for (;;) {
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[2].revents)
			break;
		for (int i = 0; i < 2; i++)
			if (p[i].revents && read(p[i].fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
				return NULL;
	}
	return NULL;
}

/* Runs one loop of n writes; returns the guest's TSC cycles. */
static uint64_t run_loop(struct raw *r, enum kind k, uint64_t n)
{
	static const uint64_t target[KINDS] = { TRAP_PORT, TRAP_ADDR, BELL_PORT, BELL_ADDR };
	struct kvm_regs regs = {
		/* IOPL 3: port writes at CPL3 need no I/O bitmap check, which
		 * QEMU's TCG refuses for a busy TSS (nested, in tests/kvmhost) */
		.rip = CODE_GPA, .rflags = 0x3002, .rcx = n, .r9 = DONE_PORT,
		.rsi = (k == MMIO_TRAP || k == MMIO_BELL), .rdx = target[k], .rdi = target[k],
	};
	if (ioctl(r->cpu, KVM_SET_REGS, &regs))
		die("KVM_SET_REGS");
	for (;;) {
		if (ioctl(r->cpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			die("KVM_RUN");
		}
		switch (r->run->exit_reason) {
		case KVM_EXIT_IO:
			if (r->run->io.port == DONE_PORT) {
				if (ioctl(r->cpu, KVM_GET_REGS, &regs))
					die("KVM_GET_REGS");
				return regs.rbx;
			}
			break;  /* the empty handler */
		case KVM_EXIT_MMIO:
			break;
		default:
			fprintf(stderr, "raw-kvm: unexpected exit %u\n", r->run->exit_reason);
			exit(1);
		}
	}
}

static double tsc_hz(void)
{
	struct timespec a, b;
	unsigned lo, hi;
	clock_gettime(CLOCK_MONOTONIC, &a);
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	uint64_t t0 = (uint64_t)hi << 32 | lo;
	struct timespec d = { 0, 200000000 };
	nanosleep(&d, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	uint64_t t1 = (uint64_t)hi << 32 | lo;
	return (double)(t1 - t0) / ((double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: raw-kvm TRAP_N BELL_N ROUNDS [--reader] [--cpu N]\n");
		return 2;
	}
	uint64_t trap_n = strtoull(argv[1], NULL, 0), bell_n = strtoull(argv[2], NULL, 0);
	int rounds = atoi(argv[3]), with_reader = 0, cpu = -1;
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--reader"))
			with_reader = 1;
		else if (!strcmp(argv[i], "--cpu") && i + 1 < argc)
			cpu = atoi(argv[++i]);
	}
	struct raw r = { 0 };
	r.kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (r.kvm < 0)
		die("/dev/kvm");
	r.vm = ioctl(r.kvm, KVM_CREATE_VM, 0);
	if (r.vm < 0)
		die("KVM_CREATE_VM");
	if (ioctl(r.vm, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_GPA))
		die("KVM_SET_TSS_ADDR");
	if (ioctl(r.vm, KVM_CREATE_IRQCHIP, 0))
		die("KVM_CREATE_IRQCHIP");
	setup_memory(&r);
	setup_vcpu(&r);
	r.bell_fd[0] = add_bell(&r, BELL_PORT, 1);
	r.bell_fd[1] = add_bell(&r, BELL_ADDR, 0);
	r.stop_fd = eventfd(0, EFD_CLOEXEC);
	pthread_t th;
	if (with_reader && pthread_create(&th, NULL, reader, &r))
		die("pthread_create");
	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
			die("pthread_setaffinity_np");
	}

	(void)run_loop(&r, PIO_TRAP, 100);  /* warm up */
	for (int k = 0; k < KINDS; k++) {
		uint64_t n = (k == PIO_TRAP || k == MMIO_TRAP) ? trap_n : bell_n;
		if (!n)
			continue;
		(void)run_loop(&r, (enum kind)k, n / 10 + 1);
		for (int i = 0; i < rounds; i++)
			printf("bench %s round=%d n=%llu cycles=%llu\n", kind_name[k], i, (unsigned long long)n,
			       (unsigned long long)run_loop(&r, (enum kind)k, n));
	}
	printf("tsc_hz=%.0f\n", tsc_hz());
	if (with_reader) {
		uint64_t one = 1;
		if (write(r.stop_fd, &one, sizeof(one)) != sizeof(one))
			die("write");
		pthread_join(th, NULL);
	}
	return 0;
}
