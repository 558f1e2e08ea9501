#!/usr/bin/env python3
"""exec -> first KVM_RUN on this host's own /dev/kvm (bench/boot/run.sh).

Where the host's KVM cannot run a Linux guest (kvm_pvm), it can still create
the VM: the time a VMM needs to set itself and the VM up, up to its first
KVM_RUN, is measured here without the box's emulation and its process
start-up costs (fork and exec of an emulated Python and shell are a large
part of the box's figure, for every VMM alike).  Each run is stopped (SIGTERM) as
soon as the first KVM_RUN is recorded; the guest never needs to boot.

Usage: SHIM=first_kvm_run.so RUNS=10 host_first_run.py SARDINE GUEST_DIR
Prints a markdown table and the exact commands."""
import os, statistics, subprocess, sys, tempfile, time


def has_stamp(path):
    try:
        return os.path.getsize(path) > 0
    except OSError:
        return False


def first_run(cmd, env, timeout=10.0):
    fd, stamp = tempfile.mkstemp()
    os.close(fd)
    os.unlink(stamp)
    env = dict(env, FIRST_KVM_RUN_FILE=stamp)
    t0 = time.time()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env)
    # The shim creates the file when the process starts, writes it at KVM_RUN.
    while not has_stamp(stamp) and p.poll() is None and time.time() - t0 < timeout:
        time.sleep(0.002)
    p.terminate()  # SIGTERM: sardine removes its API socket on the way out
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    try:
        with open(stamp) as f:
            return int(f.read()) / 1e9 - t0
    except (OSError, ValueError):
        return None
    finally:
        if os.path.exists(stamp):
            os.unlink(stamp)


def main():
    sardine, guest = sys.argv[1], sys.argv[2]
    runs = int(os.environ.get("RUNS", "10"))
    env = dict(os.environ, LD_PRELOAD=os.environ["SHIM"], SARDINE_ALLOW_PVM="1")
    initrd = os.path.join(guest, "initramfs.cpio")
    vmms = []
    for k in ("vmlinuz", "vmlinux"):
        kernel = os.path.join(guest, k)
        vmms.append(("sardine " + k, [sardine, "run", "--kernel", kernel, "--initrd", initrd,
                                        "--memory", "256M", "--cpus", "1"]))
        # -cpu host and -cpu max stop QEMU on kvm_pvm (an MSR it cannot set).
        vmms.append(("QEMU microvm " + k,
                     ["qemu-system-x86_64", "-M", "microvm,x-option-roms=off,isa-serial=on,rtc=off",
                      "-enable-kvm", "-cpu", "qemu64", "-m", "256", "-smp", "1", "-nodefaults",
                      "-no-user-config", "-display", "none", "-serial", "null",
                      "-kernel", kernel, "-initrd", initrd]))
    results = {name: [] for name, _ in vmms}
    for _ in range(runs):  # interleaved, as in measure.py
        for name, cmd in vmms:
            results[name].append(first_run(cmd, env))
    print("| VMM | runs ok | exec -> first KVM_RUN (ms) min / median / max | vs QEMU microvm (medians) |")
    print("| --- | --- | --- | --- |")
    medians = {}
    for name, _ in vmms:
        ok = [r for r in results[name] if r is not None]
        medians[name] = statistics.median(ok) if ok else None
    for name, _ in vmms:
        ok = sorted(r * 1000 for r in results[name] if r is not None)
        qemu = medians.get("QEMU microvm " + name.split()[-1])
        ratio = "%.2fx" % (medians[name] / qemu) if name.startswith("sardine") and qemu and medians[name] else "-"
        stats = "%.1f / %.1f / %.1f" % (ok[0], statistics.median(ok), ok[-1]) if ok else "n/a"
        print("| %s | %d | %s | %s |" % (name, len(ok), stats, ratio))
    print()
    print("Commands (each stopped with SIGTERM right after its first KVM_RUN; sardine with SARDINE_ALLOW_PVM=1):")
    print()
    for name, cmd in vmms:
        print("- %s: `%s`" % (name, " ".join(cmd)))


if __name__ == "__main__":
    main()
