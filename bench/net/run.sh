#!/bin/bash
# Network benchmark: sardine's virtio-net against QEMU's (userspace
# virtio-net-pci, vhost=off) on a TAP, same guest, in one box session, with
# iperf3 over the box's loopback as the ceiling.  Both VMs run side by side,
# each on a TAP in a network namespace of its own; the tests alternate
# between them round by round, so load from elsewhere hits both alike.
# Usage: bench/net/run.sh [BUILD_DIR]     ROUNDS=3 SECS=10 CPUS=1 MEM=1024 BOX_CPUS=1
#   COMPARE_IO_SCHED=1: a third VM, sardine with SARDINE_IO_SCHED=normal
#   (I/O threads never SCHED_BATCH, see vmm/io_sched.h), in the same rounds.
#   COMPARE_RING=1: two more, sardine with QEMU's default receive ring
#   (rx_queue_size=256) and QEMU with sardine's (rx_queue_size=1024).
# Outside the box it re-runs itself inside tests/box.  Writes
# bench/results/net.md.
set -eu
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
. "$repo/bench/lib.sh"
if [ -z "${BOX:-}" ] && ! host_kvm_runs_linux; then
	mkdir -p "$repo/bench/results"
	exec "$repo/tests/box/box" --cpus "${BOX_CPUS:-1}" --mem 6G --scratch-size 0 --timeout 3600 --out "$repo/bench/results" \
		--env ROUNDS="${ROUNDS:-3}" --env SECS="${SECS:-10}" --env CPUS="${CPUS:-1}" \
		--env MEM="${MEM:-1024}" --env TESTS="${TESTS:-}" \
		--env COMPARE_IO_SCHED="${COMPARE_IO_SCHED:-}" --env COMPARE_RING="${COMPARE_RING:-}" \
		-- "$here/run.sh $build"
fi
# Progress and the VMMs' consoles go to bench/results/net-*.log.
exec 2>"$repo/bench/results/net-progress.log"
set -x
cpus=${CPUS:-1}
mem=${MEM:-1024}
g=$repo/build/guest
# The host side pings and talks to the guest with busybox (scripts/deps.sh).
command -v busybox > /dev/null || { echo "bench/net: busybox is missing (scripts/deps.sh installs it)" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	for ns in bn-sardine bn-normal bn-rx256 bn-qemu bn-qemu1024 bn-loop; do ip netns del "$ns" 2>/dev/null || true; done
	cp "$work"/sardine.log "$repo/bench/results/net-sardine.log" 2>/dev/null || true
	cp "$work"/qemu.log "$repo/bench/results/net-qemu.log" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# The guest: address, an iperf3 server, then wait to be killed.
mkdir -p "$work/root/test"
cat > "$work/root/test/run.sh" <<'EOF'
ip addr add 10.0.0.2/24 dev eth0
ip link set eth0 up
/usr/local/bin/iperf3 -s -D
# Guest-side counters for the driver, on request.
nc -ll -p 7000 -e /test/stats.sh &
# Guest to host: the driver sends iperf3 client options, gets its JSON.
nc -ll -p 7001 -e /test/client.sh &
# Latency under load: the driver sends seconds, the guest's vCPU spins.
nc -ll -p 7002 -e /test/burn.sh &
echo NET-READY
while :; do sleep 3600; done
EOF
cat > "$work/root/test/client.sh" <<'EOF'
#!/bin/sh
read -r args
exec /usr/local/bin/iperf3 -c 10.0.0.1 -p 5202 -J $args
EOF
cat > "$work/root/test/burn.sh" <<'EOF'
#!/bin/sh
read -r secs
timeout "$secs" sh -c 'while :; do :; done'
EOF
cat > "$work/root/test/stats.sh" <<'EOF'
#!/bin/sh
grep -E '(input|output)\.[0-9]+$' /proc/interrupts | awk '{s=0; for (i=2; i<=NF-3; i++) s+=$i; print $NF, s}'
awk '/eth0:/ {print "rx_packets", $3; print "tx_packets", $11}' /proc/net/dev
EOF
chmod +x "$work/root/test/burn.sh" "$work/root/test/run.sh" "$work/root/test/stats.sh" "$work/root/test/client.sh"
(cd "$work/root" && find test | cpio -o -H newc --quiet) > "$work/extra.cpio"
cat "$g/initramfs.cpio" "$g/tools.cpio" "$work/extra.cpio" > "$work/initrd.cpio"
append="console=ttyS0 quiet panic=-1"

sardine_cmd="$build/sardine run --log-level info --kernel $g/vmlinux --initrd $work/initrd.cpio --memory ${mem}M --cpus $cpus --name bench --net tap=tap0 --cmdline \"$append\""
# debug-threads=on: only then does QEMU name its vCPU threads "CPU N/KVM",
# which the CPU columns leave out.
qemu_cmd="qemu-system-x86_64 -name bench,debug-threads=on -M q35 -enable-kvm -cpu host -m $mem -smp $cpus -nodefaults -no-user-config -display none -serial stdio -kernel $g/vmlinux -initrd $work/initrd.cpio -append \"$append\" -netdev tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=off -device virtio-net-pci,netdev=n0"

# start NAME COMMAND: the VMM in its own namespace, host side 10.0.0.1.
start() {
	local ns=bn-$1 cmd=$2 i
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	eval "exec ip netns exec $ns $cmd" > "$work/$1.log" 2>&1 < /dev/null &
	pids+=($!)
	eval "pid_$1=$!"
	for ((i = 0; i < 300; i++)); do
		ip -n "$ns" link show tap0 > /dev/null 2>&1 && break
		sleep 0.2
	done
	ip -n "$ns" addr add 10.0.0.1/24 dev tap0
	ip -n "$ns" link set tap0 up
}
wait_ready() {
	local i
	for ((i = 0; i < 1200; i++)); do
		grep -q NET-READY "$work/$1.log" && ip netns exec "bn-$1" busybox ping -c 1 -W 2 10.0.0.2 > /dev/null 2>&1 && return 0
		sleep 0.5
	done
	echo "$1 never got ready:" >&2
	tail -20 "$work/$1.log" >&2
	return 1
}
start sardine "$sardine_cmd"
normal_cmd="env SARDINE_IO_SCHED=normal ${sardine_cmd/--name bench/--name bench-normal}"
vmms=(sardine:bn-sardine:"$pid_sardine")
if [ -n "${COMPARE_IO_SCHED:-}" ]; then
	start normal "$normal_cmd"
	vmms+=(sardine-normal:bn-normal:"$pid_normal")
fi
rx256_cmd="${sardine_cmd/--name bench/--name bench-rx256}"
rx256_cmd="${rx256_cmd/--net tap=tap0/--net tap=tap0,rx_queue_size=256}"
if [ -n "${COMPARE_RING:-}" ]; then
	start rx256 "$rx256_cmd"
	vmms+=(sardine-rx256:bn-rx256:"$pid_rx256")
fi
start qemu "$qemu_cmd"
vmms+=(qemu:bn-qemu:"$pid_qemu")
qemu1024_cmd="${qemu_cmd/-device virtio-net-pci,netdev=n0/-device virtio-net-pci,netdev=n0,rx_queue_size=1024}"
if [ -n "${COMPARE_RING:-}" ]; then
	start qemu1024 "$qemu1024_cmd"
	vmms+=(qemu-rx1024:bn-qemu1024:"$pid_qemu1024")
fi
vmms+=(loopback:bn-loop:0)
wait_ready sardine
[ -z "${COMPARE_IO_SCHED:-}" ] || wait_ready normal
[ -z "${COMPARE_RING:-}" ] || wait_ready rx256
wait_ready qemu
[ -z "${COMPARE_RING:-}" ] || wait_ready qemu1024
# The ceiling: iperf3 over loopback, in a namespace of its own.
ip netns add bn-loop
ip -n bn-loop link set lo up
ip netns exec bn-loop iperf3 -s -D -B 127.0.0.1

set +x
{
	echo "# Network benchmark"
	echo
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') inside tests/box (QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}') TCG, $(nproc) CPUs, nested KVM, $(box_tsc)),"
	echo "box kernel $(uname -r), on a host with $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); the box has its own host core; other work ran on the other."
	echo "Everything in the box is emulated: absolute numbers are far below real hardware; compare ratios only."
	echo "Guest: Debian's $(grep -o "linux-image[^ ]* [^ ]*" "$g/packages.txt") (PVH vmlinux) and the test initramfs, $cpus vCPU, $mem MiB, iperf3 3.12 server in the guest."
	echo "The VMs run at once, each on a TAP in its own network namespace (host side 10.0.0.1, guest 10.0.0.2);"
	echo "each test runs ${SECS:-10} s, the VMMs taking turns, for ${ROUNDS:-3} rounds; the table shows the median round (min-max in brackets)."
	echo "\"VMM CPU s/GiB\": utime+stime of the VMM's threads other than vCPUs (/proc/PID/task/*/stat), per GiB moved;"
	echo "\"vCPU CPU s/GiB\" the same for its vCPU threads (sardine: vcpuN, QEMU: \"CPU n/KVM\")."
	echo
	python3 "$here/measure.py" --secs "${SECS:-10}" --rounds "${ROUNDS:-3}" ${TESTS:+--tests "$TESTS"} \
		"${vmms[@]}"
	echo
	echo "Commands (in the box; the host side of each TAP is 10.0.0.1/24 in the VMM's namespace):"
	echo
	echo "- sardine: \`ip netns exec bn-sardine $sardine_cmd\`"
	[ -z "${COMPARE_IO_SCHED:-}" ] || echo "- sardine-normal: \`ip netns exec bn-normal $normal_cmd\`"
	[ -z "${COMPARE_RING:-}" ] || echo "- sardine-rx256: \`ip netns exec bn-rx256 $rx256_cmd\`"
	echo "- QEMU: \`ip netns exec bn-qemu $qemu_cmd\`"
	[ -z "${COMPARE_RING:-}" ] || echo "- qemu-rx1024: \`ip netns exec bn-qemu1024 $qemu1024_cmd\`"
	echo "- iperf3, host to guest: \`ip netns exec NS iperf3 -c 10.0.0.2 -t ${SECS:-10} -J [-P 4]\` against the guest's \`iperf3 -s\`;"
	echo "  guest to host: the guest runs \`iperf3 -c 10.0.0.1 -p 5202 -J -t ${SECS:-10} [-P 4]\` against \`iperf3 -s -1 -B 10.0.0.1 -p 5202\` in NS"
	echo "  (started through a \`nc -ll -p 7001\` in the guest: an application in the guest sends, as in real use; iperf3 -R from the host,"
	echo "  the guest's server sending, gave ~3 Mbit/s for both VMMs where the guest's own client gives ~100: not a measure of the device);"
	echo "  UDP: \`... -u -l 64 -b 0\` (packets the receiver got per second); loopback: \`-c 127.0.0.1 [-R]\` in a namespace of its own."
	echo "- guest initramfs: build/guest/initramfs.cpio + tools.cpio + a /test/run.sh that sets 10.0.0.2/24, runs \`iperf3 -s -D\` and the three nc listeners."
	echo "- ping: \`ip netns exec NS busybox ping -q -c 40 -i 0.2 10.0.0.2\`, with the guest idle, then while it runs \`timeout 14 sh -c 'while :; do :; done'\` (started through its port 7002)."
} > "$work/net.md"
cp "$work/net.md" "$repo/bench/results/net.md"
cat "$repo/bench/results/net.md"
