#!/usr/bin/env python3
"""Boot benchmark driver (runs inside the box; see run.sh).

For each VMM command line: N runs of a guest that powers off at once,
timing process start -> READY line, READY -> process exit, and start ->
first KVM_RUN (LD_PRELOAD shim); then one idle run to measure the VMM's
own memory (RSS minus the guest RAM the guest touched).  Prints a markdown
table and the exact commands."""
import os, re, statistics, subprocess, sys, tempfile, time

READY = b"SARDINE-GUEST-READY"


def run_once(cmd, env, timeout=300):
    with tempfile.NamedTemporaryFile(delete=False) as f:
        stamp = f.name
    env = dict(env, FIRST_KVM_RUN_FILE=stamp)
    t0 = time.time()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=env)
    buf, t_ready = b"", None
    while True:
        chunk = p.stdout.read1(65536)
        if not chunk:
            break
        buf += chunk
        if t_ready is None and READY in buf:
            t_ready = time.time()
        if time.time() - t0 > timeout:
            p.kill()
            break
    p.wait()
    t_exit = time.time()
    try:
        first = int(open(stamp).read()) / 1e9
    except (OSError, ValueError):
        first = None
    os.unlink(stamp)
    if t_ready is None or p.returncode != 0:
        sys.stderr.write("run failed (rc=%s): %s\n" % (p.returncode, buf[-2000:].decode(errors="replace")))
        return None
    return (t_ready - t0, t_exit - t_ready, (first - t0) if first else None)


def smaps_overhead(pid, guest_bytes):
    """(VMM kB, guest kB): total Rss minus the Rss of guest RAM.  Guest RAM
    is the window of adjacent mappings whose span is the guest's size
    (a VMM may split it into several mappings; unrelated mappings, thread
    stacks, may sit right beside it, so the window, not the whole adjacent
    run, is what counts)."""
    vmas = []
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) ", line)
            if m:
                vmas.append([int(m.group(1), 16), int(m.group(2), 16), 0])
            elif line.startswith("Rss:"):
                vmas[-1][2] = int(line.split()[1])
    vmas.sort()
    total = sum(v[2] for v in vmas)
    # Each window of adjacent mappings that first reaches the guest's size;
    # the one closest to it (exactly it, for sardine and QEMU alike) wins.
    best = None
    for i in range(len(vmas)):
        rss = 0
        for j in range(i, len(vmas)):
            if j > i and vmas[j][0] != vmas[j - 1][1]:
                break
            rss += vmas[j][2]
            span = vmas[j][1] - vmas[i][0]
            if span >= guest_bytes:
                if span <= guest_bytes + (4 << 20):
                    key = (span - guest_bytes, -rss)
                    if best is None or key < best[0]:
                        best = (key, rss)
                break
    guest = best[1] if best else 0
    if not guest:
        sys.stderr.write("no guest RAM mapping found in /proc/%d/smaps\n" % pid)
    return total - guest, guest


def memory_run(cmd, env, guest_bytes, settle=8):
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=env)
    buf, t0 = b"", time.time()
    while READY not in buf and time.time() - t0 < 300:
        chunk = p.stdout.read1(65536)
        if not chunk:
            break
        buf += chunk
    time.sleep(settle)
    result = smaps_overhead(p.pid, guest_bytes) if p.poll() is None else None
    p.terminate()
    try:
        p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    return result


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    return "%.3f / %.3f / %.3f" % (min(values), statistics.median(values), max(values))


def main():
    runs = int(os.environ.get("RUNS", "10"))
    shim = os.environ["SHIM"]
    guest_bytes = int(os.environ.get("GUEST_MEM_MB", "256")) << 20
    vmms = [line.split("\t", 1) for line in open(sys.argv[1]).read().splitlines() if line]
    env = dict(os.environ, LD_PRELOAD=shim)
    # Interleaved: run i of every VMM before run i+1 of any, so load on
    # the machine drifting over time hits them all alike.
    results = {name: [] for name, _ in vmms}
    for i in range(runs):
        for name, command in vmms:
            boot_cmd = command.replace("@GUESTCMD@", "poweroff -f")
            results[name].append(run_once(["sh", "-c", "exec " + boot_cmd], env))
        sys.stderr.write("round %d done\n" % (i + 1))
    rows = []
    for name, command in vmms:
        boot_cmd = command.replace("@GUESTCMD@", "poweroff -f")
        idle_cmd = command.replace("@GUESTCMD@", "sleep 600")
        ok = [r for r in results[name] if r]
        mem = memory_run(["sh", "-c", "exec " + idle_cmd], dict(os.environ), guest_bytes)
        rows.append((name, len(ok), stats([r[0] for r in ok]), stats([r[1] for r in ok]),
                     stats([r[2] for r in ok]),
                     "%.1f" % (mem[0] / 1024) if mem else "n/a",
                     "%.1f" % (mem[1] / 1024) if mem else "n/a", boot_cmd))
    print("| VMM | runs ok | start -> READY (s) min/med/max | READY -> exit after poweroff (s) | exec -> first KVM_RUN (s) | VMM memory overhead (MiB) | guest RAM touched (MiB) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print("| %s | %d | %s | %s | %s | %s | %s |" % r[:7])
    print("\nCommands (the guest command after `--` is `poweroff -f` for the timed runs, `sleep 600` for the memory run):\n")
    for r in rows:
        print("- %s: `%s`" % (r[0], r[7]))


if __name__ == "__main__":
    main()
