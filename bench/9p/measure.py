#!/usr/bin/env python3
"""Runs the 9p benchmark guest under each VMM and measures it.

usage: measure.py VMMS_FILE OUT_JSON

VMMS_FILE has one VMM a line: NAME<TAB>VCPU_REGEX<TAB>COMMAND (a shell
command line).  The guest prints "PHASE-BEGIN name", idles 2 s, runs the
workload, prints "RESULT name value unit seconds amount", then
"PHASE-END name" and idles again.  At each marker we read the VMM's CPU
time outside its vCPU threads: the whole process's utime+stime from
/proc/PID/stat (which keeps the time of threads that have exited, such
as QEMU's pool workers) minus that of its vCPU threads (named vcpuN in
sardine, "CPU n/KVM" in QEMU).  The idle seconds around each phase make
the sampling delay harmless.
"""
import json
import os
import re
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def stat_times(path):
    with open(path) as f:
        data = f.read()
    comm = data[data.index("(") + 1:data.rindex(")")]
    fields = data[data.rindex(")") + 2:].split()
    # fields[0] is state (field 3); utime, stime are fields 14, 15
    return comm, (int(fields[11]) + int(fields[12])) / TICK


def non_vcpu_cpu(pid, vcpu_re):
    _, total = stat_times(f"/proc/{pid}/stat")
    vcpu = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            comm, t = stat_times(f"/proc/{pid}/task/{tid}/stat")
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
        if vcpu_re.match(comm):
            vcpu += t
    return total - vcpu


def run(name, vcpu_re, cmd, log_path, limit):
    phases, results = {}, {}
    with open(log_path, "w") as log:
        # "exec": the shell becomes the VMM, so its PID is the VMM's (dash
        # does not do that by itself).
        proc = subprocess.Popen("exec " + cmd, shell=True, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + limit
    seen = 0
    while proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
        with open(log_path, errors="replace") as f:
            lines = f.read().split("\n")[:-1]  # whole lines only
        for line in lines[seen:]:
            m = re.search(r"PHASE-(BEGIN|END) (\S+)", line)
            if m:
                try:
                    cpu = non_vcpu_cpu(proc.pid, vcpu_re)
                except (FileNotFoundError, ProcessLookupError):
                    cpu = None
                phases.setdefault(m.group(2), {})[m.group(1)] = cpu
            m = re.search(r"RESULT (\S+) (\S+) (\S+) (\S+) (\S+)", line)
            if m:
                results[m.group(1)] = {"value": float(m.group(2)), "unit": m.group(3),
                                       "seconds": float(m.group(4)),
                                       "amount": float(m.group(5))}
        seen = len(lines)
    if proc.poll() is None:
        os.killpg(proc.pid, 9)
        proc.wait()
        print(f"{name}: timed out", file=sys.stderr)
    out = {}
    for ph, r in results.items():
        p = phases.get(ph, {})
        cpu = None
        if p.get("BEGIN") is not None and p.get("END") is not None:
            # Two samples of tick counts (the process's and its vCPUs'),
            # each rounded on its own: a phase under a tick can come out
            # a tick below zero.
            cpu = max(0.0, p["END"] - p["BEGIN"])
        r["vmm_cpu_s"] = cpu
        out[ph] = r
    return out


def main():
    vmms, out_json = sys.argv[1], sys.argv[2]
    limit = int(os.environ.get("LIMIT", "3000"))
    logdir = os.environ.get("LOGDIR", "/tmp")
    all_results = {}
    with open(vmms) as f:
        for line in f:
            if not line.strip():
                continue
            name, vcpu, cmd = line.rstrip("\n").split("\t")
            setup = os.environ.get("BEFORE_EACH")
            if setup:
                subprocess.run(setup, shell=True, check=True)
            n = len(all_results.get(name, {}).get("rounds", []))
            log = os.path.join(logdir, re.sub(r"\W+", "_", name) + f".{n}.log")
            print(f"# {name}", file=sys.stderr, flush=True)
            res = run(name, re.compile(vcpu), cmd, log, limit)
            entry = all_results.setdefault(name, {"command": cmd, "rounds": []})
            entry["rounds"].append(res)
            print(json.dumps(res), file=sys.stderr, flush=True)
    with open(out_json, "w") as f:
        json.dump(all_results, f, indent=1)


if __name__ == "__main__":
    main()
