#define LOG_TAG "kvm"
#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/log.h"

struct required_cap {
	long cap;
	const char *name;
};

#define CAP(c) { c, #c }
/* Everything vm.c, vcpu.c and the devices use unconditionally. */
static const struct required_cap required_caps[] = {
	CAP(KVM_CAP_USER_MEMORY),
	CAP(KVM_CAP_IRQCHIP),
	CAP(KVM_CAP_PIT2),
	CAP(KVM_CAP_PIT_STATE2),
	CAP(KVM_CAP_SET_TSS_ADDR),
	CAP(KVM_CAP_SET_IDENTITY_MAP_ADDR),
	CAP(KVM_CAP_EXT_CPUID),
	CAP(KVM_CAP_MP_STATE),
	CAP(KVM_CAP_IRQ_ROUTING),
	CAP(KVM_CAP_IRQFD),
	CAP(KVM_CAP_IOEVENTFD),
	CAP(KVM_CAP_SIGNAL_MSI),
	CAP(KVM_CAP_SET_BOOT_CPU_ID),
	CAP(KVM_CAP_NR_VCPUS),
	CAP(KVM_CAP_IMMEDIATE_EXIT),
};

int kvm_check_extension(int fd, long cap)
{
	int ret = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return ret < 0 ? 0 : ret;
}

int kvm_open(struct kvm *kvm, const char *path)
{
	int ret, version;
	long mmap_size;

	memset(kvm, 0, sizeof(*kvm));
	kvm->fd = open(path, O_RDWR | O_CLOEXEC);
	if (kvm->fd < 0) {
		ret = -errno;
		if (errno == ENOENT)
			log_error("%s does not exist: this host has no KVM (load kvm_intel or kvm_amd, or use tests/box)",
				  path);
		else if (errno == EACCES || errno == EPERM)
			log_error("no permission to open %s: add your user to its group (usually 'kvm')",
				  path);
		else
			log_error("cannot open %s: %s", path, strerror(errno));
		return ret;
	}
	version = ioctl(kvm->fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		log_error("%s speaks KVM API version %d, sardine needs %d", path, version,
			  KVM_API_VERSION);
		ret = -ENOTSUP;
		goto err;
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (!kvm_check_extension(kvm->fd, required_caps[i].cap)) {
			log_error("this KVM lacks %s, which sardine needs", required_caps[i].name);
			ret = -ENOTSUP;
			goto err;
		}
	}
	mmap_size = ioctl(kvm->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size <= 0) {
		log_error("KVM_GET_VCPU_MMAP_SIZE failed: %s", strerror(errno));
		ret = -ENOTSUP;
		goto err;
	}
	kvm->run_mmap_size = (size_t)mmap_size;
	kvm->max_vcpus = kvm_check_extension(kvm->fd, KVM_CAP_MAX_VCPUS);
	if (kvm->max_vcpus <= 0)
		kvm->max_vcpus = kvm_check_extension(kvm->fd, KVM_CAP_NR_VCPUS);
	kvm->has_tsc_deadline = kvm_check_extension(kvm->fd, KVM_CAP_TSC_DEADLINE_TIMER);
	kvm->has_binary_stats = kvm_check_extension(kvm->fd, KVM_CAP_BINARY_STATS_FD);
	kvm->has_xsave = kvm_check_extension(kvm->fd, KVM_CAP_XSAVE);
	kvm->has_adjust_clock = kvm_check_extension(kvm->fd, KVM_CAP_ADJUST_CLOCK);
	/* kvm_pvm (a paravirtual, software-emulating KVM found on some cloud
	 * sandboxes) cannot run an unmodified kernel at a usable speed. */
	kvm->is_pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
	return 0;

err:
	close(kvm->fd);
	kvm->fd = -1;
	return ret;
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->fd >= 0)
		close(kvm->fd);
	kvm->fd = -1;
}
