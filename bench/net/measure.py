#!/usr/bin/env python3
"""Network benchmark driver (runs inside the box; see run.sh).

Arguments: NAME:NETNS:PID ... (PID 0: no VMM, iperf3 over loopback).
For each test and round, for each VMM in turn: sample the CPU time of the
VMM's threads, run iperf3 between the VMM's namespace and its guest
(see iperf()), sample again.  Prints a markdown table."""
import argparse, json, os, statistics, subprocess, sys, time

TESTS = [
    # name, iperf3 options, direction label
    ("tcp1-g2h", ["-R"], "TCP guest->host, 1 stream"),
    ("tcp1-h2g", [], "TCP host->guest, 1 stream"),
    ("tcp4-g2h", ["-R", "-P", "4"], "TCP guest->host, 4 streams"),
    ("tcp4-h2g", ["-P", "4"], "TCP host->guest, 4 streams"),
    ("udp64-g2h", ["-R", "-u", "-l", "64", "-b", "0"], "UDP 64 B guest->host"),
    ("udp64-h2g", ["-u", "-l", "64", "-b", "0"], "UDP 64 B host->guest"),
]
HZ = os.sysconf("SC_CLK_TCK")


def is_vcpu(comm):
    return comm.startswith("vcpu") or (comm.startswith("CPU ") and comm.endswith("/KVM"))


def vmm_pid(pid):
    """The VMM itself: `ip netns exec` may have forked it as its child."""
    for _ in range(3):
        try:
            comm = open("/proc/%d/comm" % pid).read().strip()
            kids = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
        except OSError:
            return pid
        if comm not in ("ip", "sh", "bash") or not kids:
            return pid
        pid = int(kids[0])
    return pid


def cpu(pid):
    """(seconds of non-vCPU threads, seconds of vCPU threads)."""
    other = vcpu = 0
    if not pid:
        return 0.0, 0.0
    pid = vmm_pid(pid)
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            comm = open("/proc/%d/task/%s/comm" % (pid, tid)).read().strip()
            stat = open("/proc/%d/task/%s/stat" % (pid, tid)).read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        if is_vcpu(comm):
            vcpu += ticks
        else:
            other += ticks
    return other / HZ, vcpu / HZ


def guest_stats(ns, pid):
    """Interrupts per virtio-net queue and packet counts, from the guest."""
    if not pid:
        return {}
    p = subprocess.run(["ip", "netns", "exec", ns, "busybox", "nc", "10.0.0.2", "7000"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, timeout=60)
    out = {}
    for line in p.stdout.decode(errors="replace").splitlines():
        k, _, v = line.rpartition(" ")
        if v.isdigit():
            key = k.split("-", 1)[-1]  # virtio1-input.0 -> input.0
            out[key] = out.get(key, 0) + int(v)
    return out


def iperf(ns, pid, opts, secs):
    """One iperf3 run; its JSON report (bytes) and the command, as text.
    Host to guest: a client in the namespace against the guest's server.
    Guest to host: the guest's own client (started through its port 7001)
    against a one-off server in the namespace, as an application in a
    guest sends.  (iperf3 -R from the host, the guest's server sending,
    gave ~3 Mbit/s for both VMMs in the box where the guest's own client
    gives ~100: a measure of something other than the device.)"""
    if not pid or "-R" not in opts:  # loopback (with -R as asked), or host to guest
        target = "10.0.0.2" if pid else "127.0.0.1"
        cmd = ["ip", "netns", "exec", ns, "iperf3", "-c", target, "-t", str(secs), "-J"] + opts
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=secs * 10 + 120)
        return p.stdout, p.stderr, cmd
    args = " ".join(["-t", str(secs)] + [o for o in opts if o != "-R"])
    server = subprocess.Popen(["ip", "netns", "exec", ns, "iperf3", "-s", "-1", "-B", "10.0.0.1", "-p", "5202"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        cmd = ["ip", "netns", "exec", ns, "busybox", "nc", "10.0.0.2", "7001"]
        p = subprocess.run(cmd, input=(args + "\n").encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=secs * 10 + 120)
    finally:
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return p.stdout, p.stderr, cmd + ["(guest: iperf3 -c 10.0.0.1 -p 5202 -J " + args + ")"]


def box_cpu():
    """(busy, total) jiffies of the whole box, from /proc/stat."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = f[3] + f[4]  # idle, iowait
    return sum(f) - idle, sum(f)


def run(ns, pid, opts, secs):
    g0 = guest_stats(ns, pid)
    before = cpu(pid)
    box0 = box_cpu()
    out, err, cmd = iperf(ns, pid, opts, secs)
    box1 = box_cpu()
    after = cpu(pid)
    g1 = guest_stats(ns, pid)
    try:
        r = json.loads(out)
    except ValueError:
        sys.stderr.write("iperf3 failed (%s): %s %s\n" % (" ".join(cmd), out[-500:], err[-500:]))
        return None
    if "error" in r:
        sys.stderr.write("iperf3 error (%s): %s\n" % (" ".join(cmd), r["error"]))
        return None
    end = r["end"]
    if "-u" in opts:
        s = end["sum"]
        got = s["packets"] - s["lost_packets"]
        res = {"rate": got / s["seconds"], "bytes": got * 64, "lost": s.get("lost_percent", 0)}
    else:
        s = end["sum_received"]
        res = {"rate": s["bits_per_second"] / 1e6, "bytes": s["bytes"]}
    res["guest"] = {k: g1[k] - g0.get(k, 0) for k in g1}
    # Whether the box's CPU was the limit: its busy share over the run,
    # and iperf3's own view of its two ends' CPU.
    res["box_busy"] = 100.0 * (box1[0] - box0[0]) / max(1, box1[1] - box0[1])
    res["iperf_cpu"] = end.get("cpu_utilization_percent", {})
    gib = res["bytes"] / 2**30
    res["vmm"] = (after[0] - before[0]) / gib if gib and pid else None
    res["vcpu"] = (after[1] - before[1]) / gib if gib and pid else None
    return res


def ping(ns, busy):
    """Round-trip time to the guest, ms (min, avg, max of 40 pings 0.2 s
    apart); busy: while the guest's vCPU spins in a shell loop (started
    through its port 7002), the case where a woken I/O thread and the
    vCPU want the same CPU."""
    burner = None
    if busy:
        burner = subprocess.Popen(["ip", "netns", "exec", ns, "busybox", "nc", "10.0.0.2", "7002"],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        burner.stdin.write(b"14\n")
        burner.stdin.flush()
        time.sleep(2)
    try:
        p = subprocess.run(["ip", "netns", "exec", ns, "busybox", "ping", "-q", "-c", "40", "-i", "0.2",
                            "10.0.0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    finally:
        if burner:
            try:
                burner.wait(timeout=30)
            except subprocess.TimeoutExpired:
                burner.kill()
                burner.wait()
    for line in p.stdout.decode().splitlines():
        if "min/avg/max" in line:
            return [float(x) for x in line.split("=")[1].split()[0].split("/")]
    sys.stderr.write("ping failed in %s: %s\n" % (ns, p.stdout.decode()[-300:]))
    return None


def latency_table(vmms, rounds):
    """Ping RTT, idle and busy guest, VMMs alternating round by round."""
    res = {}
    for rnd in range(rounds):
        for busy in (False, True):
            for name, ns, pid in vmms:
                if pid:
                    r = ping(ns, busy)
                    res.setdefault((busy, name), []).append(r)
                    sys.stderr.write("ping busy=%s round %d %s: %s\n" % (busy, rnd, name, r))
    print()
    print("| ping host->guest | VMM | avg RTT ms | max RTT ms |")
    print("| --- | --- | --- | --- |")
    for busy in (False, True):
        for name, ns, pid in vmms:
            rs = [r for r in res.get((busy, name), []) if r]
            if pid:
                print("| %s | %s | %s | %s |" % ("guest busy (vCPU spinning)" if busy else "guest idle", name,
                                                  fmt([r[1] for r in rs], "%.2f"), fmt([r[2] for r in rs], "%.2f")))


def fmt(vals, unit_fmt):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    med = statistics.median(vals)
    if len(vals) == 1:
        return unit_fmt % med
    return (unit_fmt + " (" + unit_fmt + "-" + unit_fmt + ")") % (med, min(vals), max(vals))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--secs", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tests", default="")
    ap.add_argument("vmms", nargs="+")
    a = ap.parse_args()
    vmms = []
    for v in a.vmms:
        name, ns, pid = v.split(":")
        vmms.append((name, ns, int(pid)))
    wanted = a.tests.split(",") if a.tests else []
    tests = [t for t in TESTS if not wanted or t[0] in wanted]
    results = {}
    for tname, opts, _ in tests:
        for rnd in range(a.rounds):
            for name, ns, pid in vmms:
                r = run(ns, pid, opts, a.secs)
                results.setdefault((tname, name), []).append(r)
                if r:
                    sys.stderr.write("%s round %d %s: %.1f vmm %s vcpu %s guest %s box busy %.0f%% iperf3 cpu %s\n" % (
                        tname, rnd, name, r["rate"], r["vmm"], r["vcpu"], r["guest"], r["box_busy"],
                        r["iperf_cpu"]))
    print("| test | VMM | throughput | VMM CPU s/GiB | vCPU CPU s/GiB | vs QEMU |")
    print("| --- | --- | --- | --- | --- | --- |")
    for tname, opts, label in tests:
        udp = "-u" in opts
        unit = "%.0f pkt/s" if udp else "%.1f Mbit/s"
        qemu = [r["rate"] for r in results.get((tname, "qemu"), []) if r]
        for name, ns, pid in vmms:
            rs = [r for r in results[(tname, name)] if r]
            rates = [r["rate"] for r in rs]
            ratio = "-"
            if qemu and rates and name != "qemu":
                ratio = "%.2fx" % (statistics.median(rates) / statistics.median(qemu))
            cpu_fmt = "%.2f"
            print("| %s | %s | %s | %s | %s | %s |" % (
                label, name, fmt(rates, unit),
                fmt([r["vmm"] for r in rs], cpu_fmt) if not udp else fmt([r["vmm"] for r in rs], cpu_fmt),
                fmt([r["vcpu"] for r in rs], cpu_fmt), ratio))
    if not wanted or "ping" in wanted:
        latency_table(vmms, a.rounds)


if __name__ == "__main__":
    main()
