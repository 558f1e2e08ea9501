#!/bin/bash
# Density benchmark: idle guests per host and bursty overcommit, sardine
# (KSM + free page reporting, and neither) against QEMU (mem-merge=on,
# virtio-balloon-pci free-page-reporting=on), same kernel and initramfs, in
# one box session.  Usage: bench/density/run.sh [BUILD_DIR]
# Env: N (idle guests, default 8), IDLE_MB (512), BURST_GUEST_MB (1024),
# BURST_FILL_MB (600), BURST_PERIOD (40 s), BOX_MEM (box RAM, default 5G),
# BOX_CPUS (default 1: with two, many VMs at once crash the box's kernel,
# see tests/box/README.md).
# Outside the box it re-runs itself inside tests/box.  Writes
# bench/results/density.md.
set -eu
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
out=$repo/bench/results/density.md
. "$repo/bench/lib.sh"
if [ -z "${BOX:-}" ] && ! host_kvm_runs_linux; then
	mkdir -p "$repo/bench/results"
	exec "$repo/tests/box/box" --cpus "${BOX_CPUS:-1}" --mem "${BOX_MEM:-5G}" --scratch-size 0 --timeout 5400 --out "$repo/bench/results" \
		--env N="${N:-8}" --env IDLE_MB="${IDLE_MB:-512}" --env BURST_GUEST_MB="${BURST_GUEST_MB:-1024}" \
		--env BURST_FILL_MB="${BURST_FILL_MB:-600}" --env BURST_PERIOD="${BURST_PERIOD:-40}" \
		--env SETTLE_MAX="${SETTLE_MAX:-300}" \
		-- "$here/run.sh $build"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
{
	echo "# Density benchmark"
	echo
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') inside tests/box (QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}') TCG, $(nproc) CPUs, $(awk '/MemTotal/ {printf "%d MiB", $2 / 1024}' /proc/meminfo) RAM, nested KVM, $(box_tsc)),"
	echo "box kernel $(uname -r), on a host with $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')."
	echo "Host memory figures are the box's. Guest: Debian's kernel (PVH vmlinux) and the test initramfs, 1 vCPU, for every VMM."
	echo "KSM: run=1, pages_to_scan=1000, sleep_millisecs=20 for every configuration (sardine-plain opts its guests out with --no-merge)."
	echo
	python3 -u "$here/measure.py" "$build/sardine" "$repo/build/guest" "$work"
} | tee "$out" # as it goes: a part of the results beats none
