#!/usr/bin/env python3
"""Markdown table from measure.py's JSON: python3 report.py RESULTS_JSON"""
import json
import statistics
import sys

PHASES = [("seq_write", "seq write MB/s", "VMM CPU s/GiB", 2**30),
          ("seq_read", "seq read MB/s", "VMM CPU s/GiB", 2**30),
          ("small_files", "small files ops/s", "VMM CPU ms/1k ops", None)]


def cell(values, fmt):
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    mean = statistics.mean(values)
    rounds = ", ".join(fmt.format(v) for v in values)
    return f"**{fmt.format(mean)}** ({rounds})" if len(values) > 1 else f"**{fmt.format(mean)}**"


def per_unit(r, per):
    if r is None or r.get("vmm_cpu_s") is None or not r.get("amount"):
        return None
    if per:  # seconds per GiB
        return r["vmm_cpu_s"] / (r["amount"] / per)
    return r["vmm_cpu_s"] * 1000 / (r["amount"] / 1000)  # ms per 1000 ops


def mean_of(entry, phase):
    vals = [rd[phase]["value"] for rd in entry["rounds"] if phase in rd]
    return statistics.mean(vals) if vals else None


def main():
    data = json.load(open(sys.argv[1]))
    head = ["VMM"]
    for _, name, cpu, _ in PHASES:
        head += [name, cpu]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for vmm, entry in data.items():
        row = [vmm]
        for phase, _, _, per in PHASES:
            rounds = [rd.get(phase) for rd in entry["rounds"]]
            row.append(cell([r["value"] if r else None for r in rounds], "{:.1f}"))
            row.append(cell([per_unit(r, per) for r in rounds],
                            "{:.2f}" if per else "{:.1f}"))
        print("| " + " | ".join(row) + " |")
    a, b = data.get("sardine virtio-9p"), data.get("QEMU virtio-9p")
    if a and b:
        print()
        print("sardine / QEMU (means): " + ", ".join(
            f"{name} {mean_of(a, ph) / mean_of(b, ph):.2f}x"
            for ph, name, _, _ in PHASES
            if mean_of(a, ph) and mean_of(b, ph)) + ".")
    if "sardine virtio-blk ext4" not in data:
        print()
        print("sardine virtio-blk ext4: pending (this build has no virtio-blk; "
              "rerun bench/9p/run.sh once it is merged).")


if __name__ == "__main__":
    main()
