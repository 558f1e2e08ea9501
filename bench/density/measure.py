#!/usr/bin/env python3
"""Memory density of idle and bursty guests: sardine against QEMU, in one
session on one host (here: inside tests/box).  See bench/density/run.sh.

Idle density: N guests booted and left idle; after KSM settles, host memory
per guest two ways: the drop of the host's MemAvailable divided by N, and
the sum of the VMM processes' PSS divided by N.

Bursty overcommit: guests whose configured memory adds up to ~1.5x the
host's RAM; one after the other, each touches a large buffer and frees it.
Peak host memory used, and whether every guest lived to the end."""
import os, re, signal, subprocess, sys, threading, time

SARDINE, GUEST = sys.argv[1], sys.argv[2]
WORK = sys.argv[3]
N = int(os.environ.get("N", "8"))
IDLE_MB = int(os.environ.get("IDLE_MB", "512"))
SETTLE_MAX = int(os.environ.get("SETTLE_MAX", "300"))
BURST_GUEST_MB = int(os.environ.get("BURST_GUEST_MB", "1024"))
BURST_FILL_MB = int(os.environ.get("BURST_FILL_MB", "600"))
BURST_PERIOD = int(os.environ.get("BURST_PERIOD", "40"))
KSM = "/sys/kernel/mm/ksm"
APPEND = "console=ttyS0 quiet panic=-1"
commands = []  # (label, command line) for the report


def meminfo(key):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) // 1024
    raise KeyError(key)


def ksm_set(**kv):
    for k, v in kv.items():
        with open(f"{KSM}/{k}", "w") as f:
            f.write(str(v))


def ksm_get(k):
    with open(f"{KSM}/{k}") as f:
        return int(f.read())


def pss_mb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return int(re.search(r"^Pss:\s+(\d+)", f.read(), re.M).group(1)) / 1024
    except (OSError, AttributeError):
        return 0.0


def vmm_cmd(kind, mem, guest_cmd, log):
    kernel, initrd = f"{GUEST}/vmlinux", f"{GUEST}/initramfs.cpio"
    append = f"{APPEND} -- {guest_cmd}"
    if kind.startswith("sardine"):
        cmd = [SARDINE, "run", "--kernel", kernel, "--initrd", initrd, "--memory", f"{mem}M",
               "--api-socket", "none", "--cmdline", append]
        cmd += ["--balloon", "on"] if kind == "sardine" else ["--no-merge"]
    else:
        cmd = ["qemu-system-x86_64", "-M", "q35,mem-merge=on", "-enable-kvm", "-cpu", "host",
               "-m", str(mem), "-smp", "1", "-nodefaults", "-no-user-config", "-display", "none",
               "-serial", f"file:{log}", "-kernel", kernel, "-initrd", initrd, "-append", append,
               "-device", "virtio-balloon-pci,free-page-reporting=on"]
    return cmd


def start(kind, mem, guest_cmd, tag):
    log = f"{WORK}/{tag}.log"
    cmd = vmm_cmd(kind, mem, guest_cmd, log)
    out = open(log, "wb") if kind.startswith("sardine") else subprocess.DEVNULL
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                         start_new_session=True)
    p.log = log
    shown = " ".join(f'"{a}"' if " " in a else a for a in cmd)
    commands.append((kind, shown.replace(WORK, "WORK")))
    return p


def log_has(p, text):
    try:
        with open(p.log, "rb") as f:
            return text.encode() in f.read()
    except OSError:
        return False


def wait_all(procs, text, limit):
    deadline = time.time() + limit
    while time.time() < deadline:
        if all(log_has(p, text) for p in procs):
            return True
        if any(p.poll() is not None for p in procs):
            return False
        time.sleep(1)
    return False


def stop(procs):
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def settle_ksm(t0):
    """Until pages_sharing stops growing (under 1% in 20 s) or SETTLE_MAX."""
    last, stable_since = -1, time.time()
    while time.time() - t0 < SETTLE_MAX:
        now = ksm_get("pages_sharing")
        if now > last * 1.01 + 16:
            last, stable_since = now, time.time()
        elif time.time() - stable_since >= 20:
            return stable_since - t0
        time.sleep(5)
    return None


def idle_density(kind):
    ksm_set(run=2)  # unmerge what an earlier run left
    time.sleep(2)
    ksm_set(pages_to_scan=1000, sleep_millisecs=20, run=1)
    subprocess.run(["sync"])
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3")
    base = meminfo("MemAvailable")
    t0 = time.time()
    procs = []
    try:
        # One after the other, each to its READY line: booting all at once
        # under the box's emulation is what crashes the box's kernel.
        for i in range(N):
            procs.append(start(kind, IDLE_MB, "sleep 100000", f"idle-{kind}-{i}"))
            if not wait_all(procs[-1:], "SARDINE-GUEST-READY", 300):
                return {"kind": kind, "error": f"guest {i} did not boot"}
        booted = time.time() - t0
        settle = settle_ksm(time.time()) if kind != "sardine-plain" else None
        if kind == "sardine-plain":
            time.sleep(30)
        used = base - meminfo("MemAvailable")
        pss = sum(pss_mb(p.pid) for p in procs)
        alive = sum(p.poll() is None for p in procs)
        return {"kind": kind, "per_guest_avail": used / N, "per_guest_pss": pss / N,
                "booted_s": booted, "settle_s": settle, "sharing": ksm_get("pages_sharing"),
                "alive": alive}
    finally:
        stop(procs)
        ksm_set(run=2)


def bursty(kind):
    total = meminfo("MemTotal")
    count = max(2, round(1.5 * total / BURST_GUEST_MB))
    ksm_set(run=2)
    base_used = total - meminfo("MemAvailable")
    peak_box = [0]
    sampling = threading.Event()

    def sample():  # from the first boot on: bursts start while others boot
        while not sampling.is_set():
            peak_box[0] = max(peak_box[0], total - meminfo("MemAvailable") - base_used)
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    procs = []
    for i in range(count):
        script = (f"sleep {BURST_PERIOD * (i + 1)}; mkdir -p /t; mount -t tmpfs -o size={BURST_FILL_MB + 64}m none /t; "
                  f"dd if=/dev/zero of=/t/x bs=1M count={BURST_FILL_MB} 2>/dev/null; echo TOUCHED; sleep 5; "
                  f"rm /t/x; echo BURST-DONE; sleep 100000")
        procs.append(start(kind, BURST_GUEST_MB, script, f"burst-{kind}-{i}"))
        wait_all(procs[-1:], "SARDINE-GUEST-READY", 300)  # one boot at a time
    deadline = time.time() + BURST_PERIOD * (count + 2) + 300
    try:
        while time.time() < deadline:
            if all(log_has(p, "BURST-DONE") for p in procs):
                break
            if any(p.poll() is not None for p in procs):
                break
            time.sleep(1)
        sampling.set()
        sampler.join()
        peak = peak_box[0]
        done = sum(log_has(p, "BURST-DONE") for p in procs)
        alive = sum(p.poll() is None for p in procs)
        return {"kind": kind, "count": count, "configured": count * BURST_GUEST_MB,
                "ram": total, "peak": peak, "alive": alive, "done": done}
    finally:
        stop(procs)


def main():
    idle = [idle_density(k) for k in ("sardine", "sardine-plain", "qemu")]
    print("## Idle density\n")
    print(f"{N} guests of {IDLE_MB} MiB, booted one after the other and left idle (`sleep` in the guest).")
    print("Host memory per guest after KSM settled: the fall of the box's MemAvailable / N, and the VMM processes' PSS / N.\n")
    print("| VMM | KSM | free page reporting | per guest, MemAvailable (MiB) | per guest, PSS (MiB) | KSM settled after (s) | KSM pages_sharing | guests alive |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    names = {"sardine": ("sardine", "on", "on"), "sardine-plain": ("sardine", "off (--no-merge)", "off (no balloon)"),
             "qemu": ("QEMU q35", "on (mem-merge=on)", "on (virtio-balloon-pci)")}
    for r in idle:
        n, k, f = names[r["kind"]]
        if "error" in r:
            print(f"| {n} | {k} | {f} | {r['error']} | | | | |")
            continue
        st = "not settled" if r["settle_s"] is None and r["kind"] != "sardine-plain" else (
            "-" if r["settle_s"] is None else f"{r['settle_s']:.0f}")
        print(f"| {n} | {k} | {f} | {r['per_guest_avail']:.1f} | {r['per_guest_pss']:.1f} | {st} | {r['sharing']} | {r['alive']}/{N} |")
    s = next((r for r in idle if r["kind"] == "sardine" and "error" not in r), None)
    q = next((r for r in idle if r["kind"] == "qemu" and "error" not in r), None)
    if s and q:
        print(f"\nsardine / QEMU per guest: {s['per_guest_avail'] / q['per_guest_avail']:.2f}x by MemAvailable, "
              f"{s['per_guest_pss'] / q['per_guest_pss']:.2f}x by PSS (target: at most 0.5x).")
    burst = [bursty(k) for k in ("sardine", "qemu")]
    print("\n## Bursty overcommit\n")
    print(f"Guests of {BURST_GUEST_MB} MiB, together ~1.5x the box's RAM; guest i waits {BURST_PERIOD}*(i+1) s, "
          f"fills {BURST_FILL_MB} MiB of tmpfs, holds it 5 s, frees it. Peak = highest (MemTotal - MemAvailable) above the level before the guests started.\n")
    print("| VMM | guests | configured (MiB) | box RAM (MiB) | peak host memory used (MiB) | guests alive | bursts completed |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in burst:
        n = "sardine (free page reporting)" if r["kind"] == "sardine" else "QEMU (free-page-reporting=on)"
        print(f"| {n} | {r['count']} | {r['configured']} | {r['ram']} | {r['peak']} | {r['alive']}/{r['count']} | {r['done']} |")
    if s:
        r = burst[0]
        need = r["count"] * (BURST_FILL_MB + s["per_guest_avail"])
        print(f"| without free page reporting (computed: guests x (fill + idle)) | {r['count']} | {r['configured']} | {r['ram']} | ~{need:.0f} | - | - |")
    print("\nCommands (one of each; WORK is a temporary directory):\n")
    seen = set()
    for kind, cmd in commands:
        key = (kind, cmd.split(" -- ")[0])
        if key in seen:
            continue
        seen.add(key)
        print(f"- {kind}: `{cmd}`")


main()
