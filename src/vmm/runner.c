#define LOG_TAG "vmm"
#include "vmm/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api/api.h"
#include "api/console_server.h"
#include "api/memory.h"
#include "api/report.h"
#include "api/server.h"
#include "api/socket.h"
#include "api/vmconfig.h"
#include "block/block.h"
#include "hw/acpi_pm.h"
#include "net/backend.h"
#include "virtio/net.h"
#include "virtio/virtio.h"
#include "vmm/arch.h"
#include "vmm/console.h"
#include "vmm/event_loop.h"
#include "vmm/kvm.h"
#include "vmm/landlock.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define SOCK_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

/* Everything that outlives one VM.  Only the control thread (the one in
 * event_loop_run) touches it once the loop runs: API calls reach it
 * through api_server_dispatch(). */
struct vmm {
	struct vm_config cfg; /* the VM's configuration, unless state is NONE */
	enum vm_state state;
	bool serve;
	struct vmm_sandbox sandbox;
	int landlock_abi;      /* the Landlock domain's ABI; 0: not confined */
	bool confine_tried;    /* Landlock applies once per process */
	char name[VM_NAME_MAX + 1];
	struct kvm kvm;
	bool kvm_open;
	struct event_loop loop;
	bool loop_ready;
	int signal_fd;
	struct console stdio; /* COM1 or hvc0 on sardine's stdin/stdout */
	bool stdio_ready;
	struct console_server *con_srv; /* --console socket */
	struct vm *vm;                  /* the booted VM, if any */
	struct timespec boot_time;
	struct api_server *api;
	int api_listen_fd;              /* bound, until start_api serves it */
	char sock_path[SOCK_PATH_MAX];  /* the API socket (also names the console's) */
	struct socket_id sock_id;
	int status;                     /* the process's exit status */
	/* Host resources of the configuration, open from the first boot
	 * until the configuration goes: a guest reboot keeps its images
	 * (and their locks) and its TAPs (with addresses, bridge ports). */
	bool backends_open;
	struct blk_image *disks;                 /* cfg.nr_disks */
	struct net_backend *nets[VM_MAX_NETS];   /* cfg.nr_nets */
};

static int check_host(struct vmm *v, bool guest_is_linux)
{
	int ret;

	if (!v->kvm_open) {
		ret = kvm_open(&v->kvm, "/dev/kvm");
		if (ret)
			return ret;
		v->kvm_open = true;
	}
	if (v->cfg.nr_cpus > (unsigned int)v->kvm.max_vcpus) {
		log_error("%u vCPUs requested, this KVM allows at most %d", v->cfg.nr_cpus,
			  v->kvm.max_vcpus);
		return -EINVAL;
	}
	/* kvm_pvm emulates an unmodified kernel instruction by instruction:
	 * Linux would take hours to boot, or die on an instruction it lacks. */
	if (v->kvm.is_pvm && guest_is_linux && !getenv("SARDINE_ALLOW_PVM")) {
		log_error("this host's /dev/kvm is kvm_pvm, a software hypervisor that cannot run an unmodified Linux guest; run sardine inside tests/box (make run does)");
		return -ENOTSUP;
	}
	return 0;
}

static void vmm_quit(struct vmm *v, int status);

static void on_console_quit(void *opaque)
{
	vmm_quit(opaque, EXIT_VM_OK);
}

/* The console the VM's configuration asks for, set up on first use. */
static int console_for(struct vmm *v, struct console **out, char *err, size_t errlen)
{
	char path[SOCK_PATH_MAX];
	int ret;

	*out = NULL;
	switch (v->cfg.console) {
	case CONSOLE_SERIAL:
	case CONSOLE_VIRTIO:
		if (!v->stdio_ready) {
			ret = console_init(&v->stdio, STDIN_FILENO, STDOUT_FILENO, &v->loop);
			if (ret) {
				snprintf(err, errlen, "stdio console: %s", strerror(-ret));
				return ret;
			}
			console_set_quit(&v->stdio, on_console_quit, v);
			v->stdio_ready = true;
		}
		*out = &v->stdio;
		return 0;
	case CONSOLE_SOCKET:
		if (!v->con_srv) {
			if (sock_console_path(v->sock_path, path, sizeof(path))) {
				snprintf(err, errlen, "console socket path too long");
				return -ENAMETOOLONG;
			}
			ret = console_server_create(&v->con_srv, path, &v->loop, err, errlen);
			if (ret)
				return ret;
			log_info("console on %s", path);
		}
		*out = console_server_console(v->con_srv);
		return 0;
	default:
		return 0;
	}
}

/* Opens the disk images and network backends the configuration names;
 * each says in the log why one cannot be used. */
static int open_backends(struct vmm *v)
{
	unsigned int i;
	int ret;

	if (v->backends_open)
		return 0;
	ret = blk_open_disks(&v->cfg, &v->disks);
	if (ret)
		return ret;
	for (i = 0; i < v->cfg.nr_nets; i++) {
		ret = net_backend_open(&v->cfg.nets[i], v->cfg.nr_cpus, &v->nets[i]);
		if (ret) {
			while (i--)
				net_backend_close(v->nets[i]);
			blk_close_disks(v->disks, v->cfg.nr_disks);
			v->disks = NULL;
			return ret;
		}
	}
	v->backends_open = true;
	return 0;
}

static void close_backends(struct vmm *v)
{
	if (!v->backends_open)
		return;
	for (unsigned int i = 0; i < v->cfg.nr_nets; i++) {
		net_backend_close(v->nets[i]);
		v->nets[i] = NULL;
	}
	blk_close_disks(v->disks, v->cfg.nr_disks);
	v->disks = NULL;
	v->backends_open = false;
}

static void on_vm_exit(void *opaque, uint32_t events);

/* Landlock, once: from the configuration of the first VM booted. */
static int confine(struct vmm *v, char *err, size_t errlen)
{
	int ret;

	if (v->confine_tried)
		return 0;
	v->confine_tried = true;
	ret = landlock_confine(&v->cfg, v->sock_path, v->sandbox.landlock, &v->landlock_abi, err,
			       errlen);
	if (!ret && v->landlock_abi)
		log_info("file access confined (Landlock ABI %d)", v->landlock_abi);
	return ret;
}

/* Builds the VM from v->cfg and starts its vCPUs. */
static int vmm_boot(struct vmm *v, char *err, size_t errlen)
{
	struct console *con;
	bool guest_is_linux;
	int ret;

	if (arch_validate_config(&v->cfg, &guest_is_linux)) {
		snprintf(err, errlen, "the kernel or initramfs cannot be used (sardine's log says why)");
		return -EINVAL;
	}
	ret = check_host(v, guest_is_linux);
	if (ret) {
		snprintf(err, errlen, "KVM cannot run this VM: %s (sardine's log says why)",
			 strerror(-ret));
		return ret;
	}
	ret = confine(v, err, errlen);
	if (ret)
		return ret;
	ret = open_backends(v);
	if (ret) {
		snprintf(err, errlen, "a disk or network cannot be used (sardine's log says why)");
		return ret;
	}
	ret = console_for(v, &con, err, errlen);
	if (ret)
		return ret;
	ret = vm_create(&v->vm, &v->cfg, &v->kvm, con, &v->loop, v->disks, v->nets);
	if (ret) {
		snprintf(err, errlen, "cannot create the VM: %s", strerror(-ret));
		return ret;
	}
	ret = event_loop_add(&v->loop, v->vm->exit_fd, EPOLLIN, on_vm_exit, v);
	if (!ret)
		ret = vm_start(v->vm);
	if (ret) {
		snprintf(err, errlen, "cannot start the VM: %s", strerror(-ret));
		event_loop_del(&v->loop, v->vm->exit_fd);
		vm_destroy(v->vm);
		v->vm = NULL;
		return ret;
	}
	clock_gettime(CLOCK_MONOTONIC, &v->boot_time);
	v->state = VM_STATE_RUNNING;
	return 0;
}

/* Stops and destroys the VM, if there is one; its configuration stays. */
static void vmm_halt(struct vmm *v)
{
	if (!v->vm)
		return;
	event_loop_del(&v->loop, v->vm->exit_fd);
	vm_destroy(v->vm);
	v->vm = NULL;
	v->state = VM_STATE_SHUTDOWN;
}

static void vmm_quit(struct vmm *v, int status)
{
	vmm_halt(v);
	v->status = status;
	event_loop_stop(&v->loop);
}

/* The guest ended its VM: powered off, reset, or crashed. */
static void on_vm_exit(void *opaque, uint32_t events)
{
	struct vmm *v = opaque;
	enum vm_exit reason = vm_exit_reason(v->vm);
	char err[256];

	vmm_halt(v);
	if (reason == VM_EXIT_REBOOT && !v->cfg.no_reboot) {
		log_info("guest reboot");
		if (vmm_boot(v, err, sizeof(err)) == 0)
			return;
		log_error("reboot failed: %s", err);
		reason = VM_EXIT_ERROR;
	} else if (reason == VM_EXIT_REBOOT) {
		log_info("guest reboot, exiting (--no-reboot)");
	}
	/* sardine serve waits for what the API says next. */
	if (!v->serve)
		vmm_quit(v, reason == VM_EXIT_ERROR ? EXIT_VM_ERROR : EXIT_VM_OK);
}

/* SIGUSR2 flips the link of every NIC (carrier in the guest): a test and
 * debugging aid. */
static void toggle_links(struct vmm *v)
{
	for (unsigned int i = 0; v->vm && i < v->vm->nr_virtio; i++) {
		struct virtio_dev *d = v->vm->virtio[i];

		if (virtio_is_net(d))
			virtio_net_set_link(d, !virtio_net_link_up(d));
	}
}

static void on_signal(void *opaque, uint32_t events)
{
	struct vmm *v = opaque;
	struct signalfd_siginfo si;

	if (read(v->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGUSR2) {
		toggle_links(v);
		return;
	}
	log_info("terminating on signal %d", (int)si.ssi_signo);
	vmm_quit(v, EXIT_VM_OK);
}

/* SIGTERM/SIGINT/SIGHUP (and SIGUSR2, see toggle_links) are read from a
 * signalfd by the control loop; they are blocked in every thread (threads
 * inherit the mask). */
static int setup_signals(struct vmm *v)
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
	/* A closed console reader or API client must not kill the VM. */
	signal(SIGPIPE, SIG_IGN);
	v->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (v->signal_fd < 0)
		return -errno;
	return event_loop_add(&v->loop, v->signal_fd, EPOLLIN, on_signal, v);
}

/* ---- the API's calls, on the control thread */

static char *to_text(struct json_object *doc)
{
	int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
	char *text = doc ? strdup(json_object_to_json_string_ext(doc, flags)) : NULL;

	json_object_put(doc);
	return text;
}

static char *ping_json(void)
{
	struct json_object *doc = json_object_new_object();

	if (doc) {
		json_object_object_add(doc, "build_version", json_object_new_string(SARDINE_VERSION));
		json_object_object_add(doc, "version", json_object_new_string(SARDINE_VERSION));
		json_object_object_add(doc, "pid", json_object_new_int64(getpid()));
		json_object_object_add(doc, "features", json_object_new_array());
	}
	return to_text(doc);
}

static uint64_t uptime_ms(const struct vmm *v)
{
	struct timespec now;

	if (v->state != VM_STATE_RUNNING && v->state != VM_STATE_PAUSED)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - v->boot_time.tv_sec) * 1000 +
	       (uint64_t)((now.tv_nsec - v->boot_time.tv_nsec) / 1000000);
}

/* A sardine extension of vm.info: how the process is confined. */
static struct json_object *sandbox_json(const struct vmm *v)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "seccomp", json_object_new_string(sandbox_mode_name(v->sandbox.seccomp)));
	json_object_object_add(o, "landlock", json_object_new_string(v->landlock_abi ? "on" : "off"));
	json_object_object_add(o, "landlock_abi", json_object_new_int(v->landlock_abi));
	return o;
}

/* VmInfo, plus sardine's "name", "uptime_ms", "balloon" and "sandbox". */
static char *info_json(const struct vmm *v)
{
	struct json_object *doc = json_object_new_object();

	if (doc) {
		json_object_object_add(doc, "config", vmconfig_to_json(&v->cfg));
		json_object_object_add(doc, "state", json_object_new_string(vm_state_name(v->state)));
		json_object_object_add(doc, "memory_actual_size", json_object_new_uint64(v->cfg.mem_size));
		json_object_object_add(doc, "name", json_object_new_string(v->name));
		json_object_object_add(doc, "uptime_ms", json_object_new_uint64(uptime_ms(v)));
		report_info_memory(doc, &v->cfg, v->vm);
		json_object_object_add(doc, "sandbox", sandbox_json(v));
	}
	return to_text(doc);
}

/* Opened, not access()ed: Landlock refuses an open that access() passes. */
static bool readable(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* vm.create checks the files it names now, where the client sees why. */
static int check_payload(const struct vm_config *cfg, struct api_response *resp)
{
	if (!readable(cfg->kernel)) {
		api_error(resp, 400, "payload.kernel: %s: %s", cfg->kernel, strerror(errno));
		return -EINVAL;
	}
	if (cfg->initrd && !readable(cfg->initrd)) {
		api_error(resp, 400, "payload.initramfs: %s: %s", cfg->initrd, strerror(errno));
		return -EINVAL;
	}
	return 0;
}

static void forget_vm(struct vmm *v)
{
	vmm_halt(v);
	console_server_destroy(v->con_srv);
	v->con_srv = NULL;
	close_backends(v);
	config_free(&v->cfg);
	v->state = VM_STATE_NONE;
}

static void exec_create(struct vmm *v, struct api_call *call, struct api_response *resp)
{
	if (check_payload(call->cfg, resp))
		return;
	config_free(&v->cfg);
	v->cfg = *call->cfg; /* the strings move over */
	free(call->cfg);
	call->cfg = NULL;
	strcpy(v->cfg.name, v->name);
	v->state = VM_STATE_CREATED;
	api_reply(resp, 204, NULL);
}

static void exec_boot(struct vmm *v, struct api_response *resp)
{
	char err[256];

	if (vmm_boot(v, err, sizeof(err)))
		api_error(resp, 500, "%s", err);
	else
		api_reply(resp, 204, NULL);
}

static void exec_pause(struct vmm *v, struct api_response *resp)
{
	int ret = vm_pause(v->vm);

	if (ret == -ETIMEDOUT) {
		api_error(resp, 500, "vm.pause: the vCPUs did not stop in time; the VM keeps running");
	} else if (ret) {
		api_error(resp, 409, "vm.pause: the VM is shutting down");
	} else {
		v->state = VM_STATE_PAUSED;
		api_reply(resp, 204, NULL);
	}
}

static void api_exec(void *opaque, struct api_call *call, struct api_response *resp)
{
	struct vmm *v = opaque;

	if (api_check_state(call->ep, v->state, resp))
		return;
	switch (call->ep) {
	case API_VMM_PING: api_reply(resp, 200, ping_json()); break;
	case API_VMM_SHUTDOWN:
		vmm_quit(v, EXIT_VM_OK);
		api_reply(resp, 204, NULL);
		break;
	case API_VM_CREATE: exec_create(v, call, resp); break;
	case API_VM_BOOT: exec_boot(v, resp); break;
	case API_VM_INFO: api_reply(resp, 200, info_json(v)); break;
	case API_VM_PAUSE: exec_pause(v, resp); break;
	case API_VM_RESUME:
		vm_resume(v->vm);
		v->state = VM_STATE_RUNNING;
		api_reply(resp, 204, NULL);
		break;
	case API_VM_SHUTDOWN:
		vmm_halt(v);
		api_reply(resp, 204, NULL);
		break;
	case API_VM_REBOOT:
		vmm_halt(v);
		exec_boot(v, resp);
		break;
	case API_VM_POWER_BUTTON:
		acpi_pm_power_button(v->vm->pm);
		api_reply(resp, 204, NULL);
		break;
	case API_VM_DELETE:
		forget_vm(v);
		api_reply(resp, 204, NULL);
		break;
	case API_VM_COUNTERS: api_reply(resp, 200, to_text(report_counters(v->vm))); break;
	case API_VM_RESIZE: api_resize(&v->cfg, v->vm, call->desired_balloon, resp); break;
	case API_VM_BALLOON_STATS: api_balloon_stats(&v->cfg, v->vm, resp); break;
	default: api_error(resp, 500, "not implemented"); break;
	}
	/* A JSON document that could not be built. */
	if (resp->status == 200 && !resp->body)
		api_error(resp, 500, "out of memory");
}

static void on_api(void *opaque, uint32_t events)
{
	struct vmm *v = opaque;

	api_server_dispatch(v->api);
}

/* ---- identity: the name and the API socket */

/* Binds the API socket; -EADDRINUSE when a live VMM owns that path.  The
 * server starts later (start_api), once the process is confined. */
static int listen_api(struct vmm *v, const char *path, char *err, size_t errlen)
{
	int fd;

	if (strlen(path) >= sizeof(v->sock_path)) {
		snprintf(err, errlen, "--api-socket %s: path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(v->sock_path, path);
	fd = sock_listen(path, &v->sock_id, err, errlen);
	if (fd < 0)
		return fd;
	v->api_listen_fd = fd;
	return 0;
}

static int start_api(struct vmm *v)
{
	int fd = v->api_listen_fd, ret;

	if (fd < 0)
		return 0;
	v->api_listen_fd = -1;
	ret = api_server_start(&v->api, fd, api_exec, v); /* takes fd, even on failure */
	if (!ret)
		ret = event_loop_add(&v->loop, api_server_fd(v->api), EPOLLIN, on_api, v);
	if (ret) {
		log_error("cannot serve the API: %s", strerror(-ret));
		api_server_stop(v->api);
		v->api = NULL;
		sock_remove(v->sock_path, &v->sock_id);
	}
	return ret;
}

/* The name (given, else sardine-PID) and the socket.  A name in use, or
 * anything odd at the socket's path (a symlink, a file) is an error; only
 * `sardine run` without a usable socket directory runs without the API,
 * and says so. */
static int setup_identity(struct vmm *v, const char *name, const char *api_socket, bool serve)
{
	char err[256], path[SOCK_PATH_MAX];
	bool named = name && name[0];
	int ret;

	for (int attempt = 1; attempt <= 10; attempt++) {
		if (named)
			snprintf(v->name, sizeof(v->name), "%s", name);
		else if (attempt == 1)
			snprintf(v->name, sizeof(v->name), "sardine-%d", (int)getpid());
		else
			snprintf(v->name, sizeof(v->name), "sardine-%d-%d", (int)getpid(), attempt);
		if (api_socket && strcmp(api_socket, "none") == 0) {
			/* No API; a console socket still needs a place. */
			if (sock_path_for(v->name, v->sock_path, sizeof(v->sock_path), true, err,
					  sizeof(err)))
				v->sock_path[0] = '\0';
			return 0;
		}
		if (api_socket) {
			ret = listen_api(v, api_socket, err, sizeof(err));
			if (ret)
				log_error("--api-socket: %s", err);
			return ret ? -EINVAL : 0;
		}
		/* No usable socket directory (an ordinary user without
		 * XDG_RUNTIME_DIR, a read-only /run ...): run without. */
		if (sock_path_for(v->name, path, sizeof(path), true, err, sizeof(err))) {
			if (serve) {
				log_error("no API socket: %s", err);
				return -EINVAL;
			}
			log_warn("no API socket: %s", err);
			return 0;
		}
		ret = listen_api(v, path, err, sizeof(err));
		if (ret == -EADDRINUSE && !named)
			continue; /* another sardine has this generated name */
		if (ret == -EADDRINUSE)
			log_error("a VM named '%s' is already running (%s answers)", v->name, path);
		else if (ret)
			log_error("API socket: %s", err);
		return ret ? -EINVAL : 0;
	}
	log_error("no API socket: no free name");
	return -EINVAL;
}

/* ---- the process */

static int vmm_init(struct vmm *v, const char *name, const char *api_socket)
{
	const char *landlock = "off";
	char err[256];
	int ret;

	/* What a failure here ends sardine with: mostly a usage problem. */
	v->status = EXIT_USAGE;
	v->signal_fd = -1;
	v->api_listen_fd = -1;
	ret = event_loop_init(&v->loop, "control");
	if (ret)
		return ret;
	v->loop_ready = true;
	ret = setup_signals(v);
	if (ret) {
		log_error("cannot set up the control loop: %s", strerror(-ret));
		return ret;
	}
	ret = setup_identity(v, name, api_socket, v->serve);
	if (ret)
		return ret;
	/* A sandbox this host cannot give is the host's lack, like a
	 * missing KVM capability: exit status 1, not 2. */
	ret = sandbox_apply(v->sandbox.seccomp, err, sizeof(err));
	if (ret) {
		log_error("cannot install the seccomp filter: %s", err);
		v->status = EXIT_VM_ERROR;
		return ret;
	}
	/* sardine run knows its files now: confined before any thread
	 * starts (a Landlock domain binds only threads started after). */
	ret = v->serve ? 0 : confine(v, err, sizeof(err));
	if (ret) {
		log_error("%s", err);
		v->status = EXIT_VM_ERROR;
		return ret;
	}
	ret = start_api(v);
	if (ret)
		return ret;
	if (v->landlock_abi)
		landlock = "on";
	else if (v->serve && v->sandbox.landlock != LANDLOCK_OFF)
		landlock = "at the first boot";
	log_info("VM '%s'%s%s, seccomp %s, landlock %s", v->name, v->api ? ", API on " : "",
		 v->api ? v->sock_path : "", sandbox_mode_name(v->sandbox.seccomp), landlock);
	return 0;
}

static void vmm_cleanup(struct vmm *v)
{
	vmm_halt(v);
	if (v->api) {
		api_server_stop(v->api);
		sock_remove(v->sock_path, &v->sock_id);
	} else if (v->api_listen_fd >= 0) {
		close(v->api_listen_fd);
		sock_remove(v->sock_path, &v->sock_id);
	}
	console_server_destroy(v->con_srv);
	if (v->stdio_ready)
		console_destroy(&v->stdio);
	if (v->signal_fd >= 0)
		close(v->signal_fd);
	if (v->loop_ready)
		event_loop_destroy(&v->loop);
	if (v->kvm_open)
		kvm_close(&v->kvm);
	close_backends(v);
	config_free(&v->cfg);
	free(v);
}

int vmm_run(const struct vm_config *cfg, const struct vmm_sandbox *sandbox)
{
	struct vmm *v = calloc(1, sizeof(*v));
	char err[256];
	bool guest_is_linux;
	int status;

	if (!v || config_copy(&v->cfg, cfg)) {
		free(v);
		return EXIT_VM_ERROR;
	}
	v->sandbox = *sandbox;
	/* Bad files are the user's to fix (exit 2); a host without usable
	 * KVM is not (exit 1).  Both before anything is created. */
	if (arch_validate_config(&v->cfg, &guest_is_linux) || open_backends(v)) {
		config_free(&v->cfg);
		free(v);
		return EXIT_USAGE;
	}
	if (check_host(v, guest_is_linux)) {
		if (v->kvm_open)
			kvm_close(&v->kvm);
		close_backends(v);
		config_free(&v->cfg);
		free(v);
		return EXIT_VM_ERROR;
	}
	if (vmm_init(v, cfg->name, cfg->api_socket)) {
		status = v->status;
		vmm_cleanup(v);
		return status;
	}
	strcpy(v->cfg.name, v->name);
	v->state = VM_STATE_CREATED;
	v->status = EXIT_VM_ERROR;
	if (vmm_boot(v, err, sizeof(err)) == 0)
		event_loop_run(&v->loop);
	else
		log_error("%s", err);
	status = v->status;
	vmm_cleanup(v);
	return status;
}

int vmm_serve(const char *name, const char *api_socket, const struct vmm_sandbox *sandbox)
{
	struct vmm *v = calloc(1, sizeof(*v));
	int status;

	if (!v)
		return EXIT_VM_ERROR;
	v->serve = true;
	v->sandbox = *sandbox;
	if (vmm_init(v, name, api_socket)) {
		status = v->status;
		vmm_cleanup(v);
		return status;
	}
	if (!v->api)
		log_warn("serving without an API socket: only a signal ends this");
	v->status = EXIT_VM_OK;
	event_loop_run(&v->loop);
	status = v->status;
	vmm_cleanup(v);
	return status;
}
