#!/bin/bash
# Exit round-trip micro-benchmark, on this host's own KVM (tiny guests run
# even on kvm_pvm): tests/tiny/pio_exits.S writes N times to an unused port;
# each write is a full exit to the VMM and back.  The same guest (a PVH ELF)
# runs under sardine and under QEMU (microvm, PVH boot), interleaved; the
# cost per exit is (time(N) - time(0)) / N.  Writes bench/results/exits.md.
# Usage: bench/exits/run.sh [BUILD_DIR]    ROUNDS=7 N=1000000
set -eu
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
rounds=${ROUNDS:-7}
n=${N:-1000000}
guest=$build/tiny/pio_exits.elf
out=$repo/bench/results/exits.md
sardine_cmd() { echo "$build/sardine run --kernel $guest --cmdline $1"; }
# isa-debug-exit on the port our guest powers off through ends QEMU.
qemu_cmd() {
	echo "qemu-system-x86_64 -enable-kvm -M microvm,x-option-roms=off,rtc=off -cpu qemu64 -nodefaults -display none -serial null -kernel $guest -append $1 -device isa-debug-exit,iobase=0x604,iosize=2"
}
elapsed() { # seconds a command takes, to the microsecond
	local s e
	s=$(date +%s%N)
	$1 >/dev/null 2>&1 </dev/null || true
	e=$(date +%s%N)
	echo $(( (e - s) / 1000 ))
}
declare -A best
for ((r = 0; r < rounds; r++)); do
	for vmm in sardine qemu; do
		t0=$(elapsed "$(${vmm}_cmd 0)")
		tn=$(elapsed "$(${vmm}_cmd "$n")")
		per=$(echo "scale=3; ($tn - $t0) / $n" | bc)
		echo "round $r $vmm: $per us/exit" >&2
		eval "all_$vmm+=\" $per\""
	done
done
summary() { # min / median / max of a list of numbers
	tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {printf "%.2f / %.2f / %.2f", a[1], a[int((NR+1)/2)], a[NR]}'
}
{
	echo "# Exit round trip"
	echo
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') directly on this host's /dev/kvm ($( [ -d /sys/module/kvm_pvm ] && echo kvm_pvm || echo hardware KVM)), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores, kernel $(uname -r)."
	echo "Guest: tests/tiny/pio_exits.S (PVH, 32-bit protected mode), N=$n writes to port 0x510 (unused), loop unrolled 100 times."
	echo "$rounds interleaved rounds; per exit = (time(N) - time(0)) / N, in microseconds, min / median / max."
	echo
	echo "| VMM | us per exit round trip |"
	echo "| --- | --- |"
	echo "| sardine | $(echo "$all_sardine" | summary) |"
	echo "| QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}') microvm | $(echo "$all_qemu" | summary) |"
	echo
	echo "Commands:"
	echo
	echo "- sardine: \`$(sardine_cmd N)\`"
	echo "- QEMU: \`$(qemu_cmd N)\`"
} > "$out"
cat "$out"
