#!/bin/bash
# Boot benchmark: sardine against QEMU (microvm and q35) on the same kernel
# and initramfs, in one box session.  Usage: bench/boot/run.sh [BUILD_DIR]  (RUNS=10 BOX_CPUS=1)
# Outside the box it re-runs itself inside tests/box, then (on a host whose
# /dev/kvm cannot boot Linux) adds exec -> first KVM_RUN measured on the
# host's own KVM (host_first_run.py).  Writes bench/results/boot.md.
set -eu
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
out=$repo/bench/results/boot.md
. "$repo/bench/lib.sh"
if [ -z "${BOX:-}" ] && ! host_kvm_runs_linux; then
	mkdir -p "$repo/bench/results"
	"$repo/tests/box/box" --cpus "${BOX_CPUS:-1}" --mem 4G --scratch-size 0 --timeout 5400 --out "$repo/bench/results" \
		--env RUNS="${RUNS:-10}" -- "$here/run.sh $build"
	# This host's KVM cannot boot the guest, but it can create the VM:
	# exec -> first KVM_RUN without the box's emulation.
	if [ -w /dev/kvm ]; then
		host=$(mktemp -d)
		trap 'rm -rf "$host"' EXIT
		cc -O2 -shared -fPIC -o "$host/shim.so" "$here/first_kvm_run.c" -ldl
		{
			echo
			echo "## exec -> first KVM_RUN on this host's own KVM"
			echo
			echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') directly on this host ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores, kernel $(uname -r), /dev/kvm: $(if [ -d /sys/module/kvm_pvm ]; then echo kvm_pvm; else echo kvm; fi)), ${RUNS:-10} runs each."
			echo "The VM is created and its first KVM_RUN entered (the guest itself cannot run on kvm_pvm); no box, no emulated process start-up."
			echo
			SHIM=$host/shim.so RUNS=${RUNS:-10} python3 "$here/host_first_run.py" "$build/sardine" "$repo/build/guest"
		} >> "$out"
		tail -n 14 "$out"
	fi
	exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -shared -fPIC -o "$work/shim.so" "$here/first_kvm_run.c" -ldl
g=$repo/build/guest
append="console=ttyS0 quiet panic=-1"
mem=256
{
	for k in vmlinuz vmlinux; do
		printf 'sardine %s\t%s run --kernel %s --initrd %s --memory %sM --cpus 1 --cmdline "%s -- @GUESTCMD@"\n' \
			"$k" "$build/sardine" "$g/$k" "$g/initramfs.cpio" "$mem" "$append"
		printf 'QEMU microvm %s\tqemu-system-x86_64 -M microvm,x-option-roms=off,isa-serial=on,rtc=off -enable-kvm -cpu host -m %s -smp 1 -nodefaults -no-user-config -display none -serial stdio -kernel %s -initrd %s -append "%s -- @GUESTCMD@"\n' \
			"$k" "$mem" "$g/$k" "$g/initramfs.cpio" "$append"
		printf 'QEMU q35 %s\tqemu-system-x86_64 -M q35 -enable-kvm -cpu host -m %s -smp 1 -nodefaults -no-user-config -display none -serial stdio -kernel %s -initrd %s -append "%s -- @GUESTCMD@"\n' \
			"$k" "$mem" "$g/$k" "$g/initramfs.cpio" "$append"
	done
} > "$work/vmms"
{
	echo "# Boot benchmark"
	echo
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') inside tests/box (QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}') TCG, -cpu EPYC,+svm,+npt, $(nproc) CPUs, nested KVM, $(box_tsc)),"
	echo "box kernel $(uname -r), on a host with $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') and 2 cores."
	echo "Everything in the box is emulated: absolute times are inflated ~10-30x; compare ratios only."
	echo "${RUNS:-10} runs each; times are min / median / max in seconds. Guest: $mem MiB, 1 vCPU, same kernel and initramfs for all."
	echo "\"VMM memory overhead\" is the process RSS minus the guest RAM mapping's RSS (/proc/PID/smaps) with an idle guest, ~8 s after READY."
	echo
	SHIM=$work/shim.so GUEST_MEM_MB=$mem RUNS=${RUNS:-10} python3 "$here/measure.py" "$work/vmms"
} > "$work/boot.md"
cp "$work/boot.md" "$out"
cat "$out"
