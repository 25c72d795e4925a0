/* SPDX-License-Identifier: MIT */
#include "vm/kvm_help.h"

#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* "vmx", "svm" or NULL: the CPU flag for hardware virtualization, if /proc/cpuinfo has one. */
static const char *virt_flag(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	const char *found = NULL;
	while (f && !found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		if (strstr(line, " vmx"))
			found = "vmx";
		else if (strstr(line, " svm"))
			found = "svm";
		else
			break; /* the first CPU's flags say it */
	}
	if (f)
		fclose(f);
	return found;
}

static bool is_guest(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	bool hv = false;
	while (f && fgets(line, sizeof(line), f) && !hv)
		hv = !strncmp(line, "flags", 5) && strstr(line, " hypervisor");
	if (f)
		fclose(f);
	return hv;
}

static void explain_missing(void)
{
	const char *flag = virt_flag();
	bool loaded = access("/sys/module/kvm", F_OK) == 0;
	fprintf(stderr, "modvmm: /dev/kvm does not exist: this machine offers no KVM.\n");
	if (!flag && is_guest())
		fprintf(stderr, "  This is a virtual machine whose CPU shows no vmx/svm: its host does not pass on\n"
		                "  virtualization.  Turn on nested virtualization there (kvm_intel or kvm_amd\n"
		                "  nested=1; in a cloud, an instance type that offers it).\n");
	else if (!flag)
		fprintf(stderr, "  The CPU shows no vmx (Intel VT-x) or svm (AMD-V) flag in /proc/cpuinfo: turn\n"
		                "  virtualization on in the firmware setup, if the CPU has it.\n");
	else if (!loaded)
		fprintf(stderr, "  The CPU has %s but the KVM module is not loaded: sudo modprobe %s\n", flag,
		        !strcmp(flag, "vmx") ? "kvm_intel" : "kvm_amd");
	else
		fprintf(stderr, "  The CPU has %s and kvm is loaded, but no device node: check 'dmesg | grep -i kvm'\n"
		                "  (virtualization turned off in the firmware?) and that udev created /dev/kvm.\n", flag);
	fprintf(stderr, "  Without KVM, 'modvmm check FILE.ini' still validates a file.  modvmm's own tests\n"
	                "  run their VMs in a throwaway KVM host under QEMU on such machines\n"
	                "  (tests/kvmhost/kvmhost; 'meson test' does this by itself).\n");
}

static void explain_denied(void)
{
	struct stat st;
	struct group *g = stat("/dev/kvm", &st) == 0 ? getgrgid(st.st_gid) : NULL;
	if (g)
		fprintf(stderr, "modvmm: /dev/kvm (mode %03o, group %s) cannot be opened by this user.\n",
		        (unsigned)(st.st_mode & 0777), g->gr_name);
	else
		fprintf(stderr, "modvmm: /dev/kvm cannot be opened by this user.\n");
	if (g && strcmp(g->gr_name, "root"))
		fprintf(stderr, "  Join its group and log in again:  sudo usermod -aG %s \"$USER\"\n", g->gr_name);
	fprintf(stderr, "  Or run modvmm as root.\n");
}

void kvm_explain_open_error(int err)
{
	pr_err("cannot open /dev/kvm: %s", strerror(err));
	if (err == ENOENT || err == ENODEV || err == ENXIO)
		explain_missing();
	else if (err == EACCES || err == EPERM)
		explain_denied();
}
