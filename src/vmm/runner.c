#define LOG_TAG "vmm"
#include "vmm/runner.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "block/block.h"
#include "net/backend.h"
#include "virtio/net.h"
#include "virtio/virtio.h"
#include "vmm/arch.h"
#include "vmm/console.h"
#include "vmm/event_loop.h"
#include "vmm/kvm.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

struct runner {
	const struct vm_config *cfg;
	struct kvm kvm;
	struct event_loop loop;
	struct console console;
	struct vm *vm; /* the current boot's VM */
	struct blk_image *disks; /* cfg->nr_disks, open (and locked) for the run */
	int signal_fd;
	int last_signal;
	/* Network backends live as long as the process: a guest reboot keeps
	 * its TAP (and the TAP its addresses and bridge port). */
	struct net_backend *nets[VM_MAX_NETS];
};

static void on_vm_exit(void *opaque, uint32_t events)
{
	struct runner *r = opaque;

	event_loop_del(&r->loop, r->vm->exit_fd);
	event_loop_stop(&r->loop);
}

/* SIGUSR2 flips the link of every NIC (carrier in the guest): a test and
 * debugging aid until the API offers virtio_net_set_link(). */
static void toggle_links(struct runner *r)
{
	for (unsigned int i = 0; r->vm && i < r->vm->nr_virtio; i++) {
		struct virtio_dev *d = r->vm->virtio[i];

		if (virtio_is_net(d))
			virtio_net_set_link(d, !virtio_net_link_up(d));
	}
}

static void on_signal(void *opaque, uint32_t events)
{
	struct runner *r = opaque;
	struct signalfd_siginfo si;

	if (read(r->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGUSR2) {
		toggle_links(r);
		return;
	}
	r->last_signal = (int)si.ssi_signo;
	log_info("terminating on signal %d", r->last_signal);
	if (r->vm)
		vm_request_exit(r->vm, VM_EXIT_QUIT);
}

static void on_console_quit(void *opaque)
{
	struct runner *r = opaque;

	if (r->vm)
		vm_request_exit(r->vm, VM_EXIT_QUIT);
}

/* SIGTERM/SIGINT/SIGHUP (and SIGUSR2, see toggle_links) are read from a
 * signalfd by the control loop; they are blocked in every thread (threads
 * inherit the mask). */
static int setup_signals(struct runner *r)
{
	sigset_t set;
	int ret;

	ret = vcpu_signals_init();
	if (ret)
		return ret;
	/* The kick signal interrupts KVM_RUN only; every other thread blocks
	 * it (vCPU threads unblock it for themselves). */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* A closed console reader must not kill the VM. */
	signal(SIGPIPE, SIG_IGN);
	r->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (r->signal_fd < 0)
		return -errno;
	return event_loop_add(&r->loop, r->signal_fd, EPOLLIN, on_signal, r);
}

/* One boot: create, run until something ends it, destroy. */
static enum vm_exit boot_once(struct runner *r)
{
	enum vm_exit reason;
	int ret;

	ret = vm_create(&r->vm, r->cfg, &r->kvm, &r->console, &r->loop, r->disks, r->nets);
	if (ret)
		return VM_EXIT_ERROR;
	ret = event_loop_add(&r->loop, r->vm->exit_fd, EPOLLIN, on_vm_exit, r);
	if (!ret)
		ret = vm_start(r->vm);
	if (!ret)
		event_loop_run(&r->loop);
	reason = ret ? VM_EXIT_ERROR : vm_exit_reason(r->vm);
	vm_destroy(r->vm);
	r->vm = NULL;
	return reason;
}

static int check_host(struct runner *r, bool guest_is_linux)
{
	int ret = kvm_open(&r->kvm, "/dev/kvm");

	if (ret)
		return ret;
	if (r->cfg->nr_cpus > (unsigned int)r->kvm.max_vcpus) {
		log_error("%u vCPUs requested, this KVM allows at most %d", r->cfg->nr_cpus,
			  r->kvm.max_vcpus);
		return -EINVAL;
	}
	/* kvm_pvm emulates an unmodified kernel instruction by instruction:
	 * Linux would take hours to boot, or die on an instruction it lacks. */
	if (r->kvm.is_pvm && guest_is_linux && !getenv("SARDINE_ALLOW_PVM")) {
		log_error("this host's /dev/kvm is kvm_pvm, a software hypervisor that cannot run an unmodified Linux guest; run sardine inside tests/box (make run does)");
		return -ENOTSUP;
	}
	return 0;
}

int vmm_run(const struct vm_config *cfg)
{
	struct runner r = { .cfg = cfg, .signal_fd = -1 };
	enum vm_exit reason;
	bool guest_is_linux;
	int ret, status = EXIT_VM_ERROR;

	if (arch_validate_config(cfg, &guest_is_linux))
		return EXIT_USAGE;
	/* Missing, unreadable, badly sized or locked images are the user's
	 * to fix: say so before anything else starts. */
	if (blk_open_disks(cfg, &r.disks))
		return EXIT_USAGE;
	if (check_host(&r, guest_is_linux)) {
		blk_close_disks(r.disks, cfg->nr_disks);
		return EXIT_VM_ERROR;
	}
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		ret = net_backend_open(&cfg->nets[i], cfg->nr_cpus, &r.nets[i]);
		if (ret)
			goto out_nets;
	}
	ret = event_loop_init(&r.loop, "control");
	if (ret)
		goto out_nets;
	ret = setup_signals(&r);
	if (!ret)
		ret = console_init(&r.console, STDIN_FILENO, STDOUT_FILENO, &r.loop);
	if (ret) {
		log_error("cannot set up the control loop: %s", strerror(-ret));
		goto out_loop;
	}
	console_set_quit(&r.console, on_console_quit, &r);

	do {
		reason = boot_once(&r);
		if (reason == VM_EXIT_REBOOT)
			log_info("guest reboot%s", cfg->no_reboot ? ", exiting (--no-reboot)" : "");
	} while (reason == VM_EXIT_REBOOT && !cfg->no_reboot);
	status = reason == VM_EXIT_ERROR ? EXIT_VM_ERROR : EXIT_VM_OK;

	console_destroy(&r.console);
out_loop:
	if (r.signal_fd >= 0)
		close(r.signal_fd);
	event_loop_destroy(&r.loop);
out_nets:
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		net_backend_close(r.nets[i]);
	kvm_close(&r.kvm);
	blk_close_disks(r.disks, cfg->nr_disks);
	return status;
}
