#!/bin/bash
# virtio-blk benchmark: fio in the test guest on a 1 GiB raw image with
# cache=none, under sardine and under QEMU, and the same fio jobs on the
# host against the same image (native), all in one session.
#
#   bench/blk/run.sh [BUILD_DIR]      on a machine whose KVM runs Linux
#                                     (here: inside tests/box; bench/run-all.sh
#                                     does that, sharing bench/results)
#
# Jobs: 4k random read and write IOPS at iodepth 32, 4k random read at
# iodepth 1 (a guest that waits for each request), 1 MiB sequential read
# and write MB/s at iodepth 32 (libaio, O_DIRECT).  Both VMs are booted first and wait on
# their consoles; then, round after round, each job runs natively, in the
# sardine guest and in the QEMU guest (the order rotating), so that the
# three see the same machine: on a shared or emulated host the load drifts
# over minutes.  Each cell of the table is the median of the rounds.
# Beside each result: the VMM's own CPU time per GiB moved, i.e.
# utime+stime of its threads other than the vCPUs (sardine's "vcpuN",
# QEMU's "CPU N/KVM"): /proc/PID/stat (which keeps the time of exited
# threads) minus the vCPUs' /proc/PID/task/TID/stat, sampled right before
# and after each job.
# Writes bench/results/blk.md.  Env: BENCH_RUNTIME (s per job, default 15),
# BENCH_ROUNDS (default 3), BENCH_IMG_DIR (default /scratch),
# BENCH_HOST_DESC (the machine outside), BENCH_RESULTS (output directory),
# BENCH_POLL_US (also run a third VM: sardine with SARDINE_BLK_POLL_US=N).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
# Where this host's KVM cannot run Linux (kvm_pvm, or none), run inside
# tests/box, with a scratch disk for the images: one CPU (BOX_CPUS), since
# on two the box's nested SVM emulation triple-faults guests far more often
# (tests/box/README.md).
. "$repo/bench/lib.sh"
if [ -z "${BOX:-}" ] && ! host_kvm_runs_linux; then
	mkdir -p "$repo/bench/results"
	exec "$repo/tests/box/box" --cpus "${BOX_CPUS:-1}" --mem 8G --scratch-size 8G --timeout 5400 \
		--out "$repo/bench/results" --env BENCH_RUNTIME="${BENCH_RUNTIME:-15}" \
		--env BENCH_ROUNDS="${BENCH_ROUNDS:-3}" --env BENCH_JOBS="${BENCH_JOBS:-}" \
		--env BENCH_POLL_US="${BENCH_POLL_US:-}" --env BENCH_CPUS="${BENCH_CPUS:-1}" \
		--env BENCH_HOST_DESC="$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores, kernel $(uname -r) (the box ran on it)" \
		-- "$0 $build"
fi
SARDINE=$build/sardine
GUEST=$repo/build/guest
RUNTIME=${BENCH_RUNTIME:-15}
ROUNDS=${BENCH_ROUNDS:-3}
IMGDIR=${BENCH_IMG_DIR:-/scratch}
RESULTS=${BENCH_RESULTS:-$repo/bench/results}
CPUS=${BENCH_CPUS:-1}
MEM=1G
work=$(mktemp -d /tmp/bench-blk.XXXXXX)
declare -A PID FD RE
# One image per VMM (and one for native fio): the VMMs run side by side and
# each takes an OFD lock on its image, as they should.  Same size, same
# file system, all written in full.
img() { echo "$IMGDIR/bench-blk-$1.img"; }

cleanup() {
	local p
	for p in "${PID[@]}"; do
		kill -TERM "$p" 2>/dev/null || continue
		sleep 2
		kill -KILL "$p" 2>/dev/null || true
	done
	# The consoles (with each job's DIAG lines: /sys/block/vda/stat and
	# the queue interrupts before and after) next to the results.
	for p in "$work"/*.log; do
		[ -e "$p" ] && cp "$p" "$RESULTS/blk-$(basename "$p")"
	done
	rm -rf "$work" "$IMGDIR"/bench-blk-*.img
}
trap cleanup EXIT

log() { echo "# $*" >&2; }

# BENCH_JOBS: a subset of the jobs, for a quick look
read -ra JOBS <<<"${BENCH_JOBS:-randread randread_qd1 randwrite seqread seqwrite}"
declare -A JOB_ARGS=(
	[randread]="--rw=randread --bs=4k --iodepth=32"
	[randread_qd1]="--rw=randread --bs=4k --iodepth=1"
	[randwrite]="--rw=randwrite --bs=4k --iodepth=32"
	[seqread]="--rw=read --bs=1M --iodepth=32"
	[seqwrite]="--rw=write --bs=1M --iodepth=32"
)
FIO_COMMON="--ioengine=libaio --direct=1 --numjobs=1 --time_based --runtime=$RUNTIME --ramp_time=2 --norandommap --output-format=terse --terse-version=3"
# terse v3 fields: 6 read KiB, 8 read IOPS, 9 read ms, 47 write KiB, 49 write IOPS, 50 write ms
TERSE_AWK='{ if ($6 > 0) print $6, $8, $9; else print $47, $49, $50 }'

# ---- the images: 1 GiB each, fully allocated (written once) ----
VMMS=(sardine qemu)
[ -n "${BENCH_POLL_US:-}" ] && VMMS+=(sardine_poll)
for who in native "${VMMS[@]}"; do
	log "writing $(img "$who")"
	dd if=/dev/zero of="$(img "$who")" bs=1M count=1024 oflag=direct status=none
done

# ---- the guest: runs the job named on its console, until "quit" ----
{
	echo 'diag() { echo "DIAG $1 $job: vda stat $(cat /sys/block/vda/stat) irqs $(grep -E "virtio[0-9]+-req" /proc/interrupts | tr -s " " | tr "\n" " ")"; }'
	echo 'echo BENCH-READY'
	echo 'while read -r job; do'
	echo '	case $job in'
	for j in "${JOBS[@]}"; do echo "	$j) args=\"${JOB_ARGS[$j]}\" ;;"; done
	echo '	*) break ;;'
	echo '	esac'
	echo "	diag before"
	echo "	/usr/local/bin/fio --name=\$job --filename=/dev/vda \$args $FIO_COMMON >/tmp/out 2>/tmp/err"
	echo "	diag after"
	echo "	echo \"RESULT \$job \$(awk -F';' '$TERSE_AWK' /tmp/out)\""
	echo '	head -c 300 /tmp/err'
	echo 'done'
} >"$work/guest.sh"
mkdir -p "$work/cpio/test"
cp "$work/guest.sh" "$work/cpio/test/run.sh"
(cd "$work/cpio" && find test | cpio -o -H newc --quiet) >"$work/extra.cpio"
cat "$GUEST/initramfs.cpio" "$GUEST/tools.cpio" "$work/extra.cpio" >"$work/initrd.cpio"

CMDLINE="console=ttyS0 quiet panic=-1"
SARDINE_CMD=("$SARDINE" run --kernel "$GUEST/vmlinuz" --initrd "$work/initrd.cpio"
	--cpus $CPUS --memory $MEM --no-rng --cmdline "$CMDLINE" --disk "$(img sardine),cache=none")
# debug-threads=on: only then does QEMU name its vCPU threads "CPU N/KVM".
QEMU_CMD=(qemu-system-x86_64 -name bench,debug-threads=on -enable-kvm -cpu host -M q35
	-nodefaults -display none -smp $CPUS -m $MEM -serial stdio -no-reboot
	-kernel "$GUEST/vmlinuz" -initrd "$work/initrd.cpio" -append "$CMDLINE"
	-drive "file=$(img qemu),if=none,id=d,format=raw,cache=none,aio=io_uring"
	-device virtio-blk-pci,drive=d)

# start NAME FD VCPU_REGEX COMMAND...: the VMM, its console on a FIFO at FD.
start() {
	local name=$1 fd=$2
	RE[$name]=$3
	shift 3
	mkfifo "$work/$name.in"
	eval "exec $fd<>\"\$work/\$name.in\""
	"$@" <"$work/$name.in" >"$work/$name.log" 2>&1 &
	PID[$name]=$!
	FD[$name]=$fd
}

wait_count() { # NAME PATTERN COUNT SECONDS
	local deadline=$((SECONDS + $4))
	while [ $SECONDS -lt $deadline ]; do
		[ "$(grep -cE -- "$2" "$work/$1.log" 2>/dev/null)" -ge "$3" ] && return 0
		kill -0 "${PID[$1]}" 2>/dev/null || break
		sleep 0.2
	done
	log "$1: no '$2' (x$3)"
	tail -20 "$work/$1.log" >&2
	return 1
}

cpu_ticks() { # NAME -> ticks of the non-vCPU threads, exited ones included
	local pid=${PID[$1]} total vcpu=0 t comm
	total=$(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
	for t in /proc/"$pid"/task/*; do
		comm=$(cat "$t/comm" 2>/dev/null) || continue
		[[ $comm =~ ${RE[$1]} ]] || continue
		vcpu=$((vcpu + $(sed 's/.*) //' "$t/stat" | awk '{ print $12 + $13 }')))
	done
	echo $((total - vcpu))
}

: >"$work/results.txt"
run_native() { # JOB ROUND
	# shellcheck disable=SC2086
	fio --name="$1" --filename="$(img native)" --size=1G ${JOB_ARGS[$1]} $FIO_COMMON >"$work/native.terse"
	echo "native $1 $2 $(awk -F';' "$TERSE_AWK" "$work/native.terse") 0" >>"$work/results.txt"
}

run_guest() { # NAME JOB ROUND
	local a b
	a=$(cpu_ticks "$1")
	echo "$2" >&"${FD[$1]}"
	wait_count "$1" "^RESULT $2 " "$3" $((RUNTIME * 20 + 300))
	b=$(cpu_ticks "$1")
	echo "$1 $2 $3 $(sed -n "s/^RESULT $2 //p" "$work/$1.log" | tr -d '\r' | tail -1) $((b - a))" \
		>>"$work/results.txt"
}

log "booting the VMs"
start sardine 7 '^vcpu[0-9]+$' "${SARDINE_CMD[@]}"
start qemu 8 '^CPU [0-9]+/KVM$' "${QEMU_CMD[@]}"
if [ -n "${BENCH_POLL_US:-}" ]; then
	POLL_CMD=("${SARDINE_CMD[@]}")
	POLL_CMD[${#POLL_CMD[@]} - 1]="$(img sardine_poll),cache=none" # the --disk value
	start sardine_poll 9 '^vcpu[0-9]+$' env SARDINE_BLK_POLL_US="$BENCH_POLL_US" "${POLL_CMD[@]}"
fi
for who in "${VMMS[@]}"; do
	wait_count "$who" BENCH-READY 1 900
done
sleep 5 # let them settle
players=(native "${VMMS[@]}")
n=${#players[@]}
for ((r = 1; r <= ROUNDS; r++)); do
	for j in "${JOBS[@]}"; do
		for ((k = 0; k < n; k++)); do
			who=${players[$(((k + r - 1) % n))]}
			if [ "$who" = native ]; then run_native "$j" "$r"; else run_guest "$who" "$j" "$r"; fi
			log "round $r $j $who: $(tail -1 "$work/results.txt" | cut -d' ' -f4-)"
		done
	done
done
for who in "${VMMS[@]}"; do
	echo quit >&"${FD[$who]}"
done
for who in "${VMMS[@]}"; do
	wait_count "$who" SARDINE-GUEST-EXIT 1 120 || true
	wait "${PID[$who]}" 2>/dev/null || true
	unset "PID[$who]"
done

# ---- the report ----
fio_line() { echo "fio --name=$1 --filename=$2 ${JOB_ARGS[$1]} $FIO_COMMON"; }
{
	echo "# virtio-blk: sardine vs QEMU vs native"
	echo
	echo "Generated by \`bench/blk/run.sh\` on $(date -u +%Y-%m-%d) (commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown))."
	echo
	echo "## Machine"
	echo
	echo "- outside: ${BENCH_HOST_DESC:-not given (set BENCH_HOST_DESC)}"
	echo "- where this ran: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), Linux $(uname -r)${BOX:+ — inside tests/box: QEMU/TCG with nested KVM, so only ratios between the columns mean anything; $(box_tsc)}"
	echo "- images: 1 GiB raw files on $(df --output=fstype "$IMGDIR" | tail -1) ($IMGDIR), written in full beforehand; one per VMM and one for native fio (the VMMs run side by side and lock their images)"
	echo "- guest: build/guest vmlinuz + initramfs.cpio + tools.cpio, $CPUS vCPUs, $MEM; both VMs booted side by side, idle while the other one or native fio runs"
	echo "- ${RUNTIME} s per job after 2 s of ramp; $ROUNDS rounds, the order of native/sardine/QEMU rotating; medians"
	echo
	echo "## Commands"
	echo
	echo '```'
	echo "# native (fio on the same machine, on the image file)"
	for j in "${JOBS[@]}"; do fio_line "$j" "$(img native)" | sed 's/--filename=[^ ]*/& --size=1G/'; done
	echo "# in the guests, the same jobs on /dev/vda:"
	for j in "${JOBS[@]}"; do fio_line "$j" /dev/vda; done
	echo "# sardine"
	echo "${SARDINE_CMD[*]}" | sed "s|$work/|WORK/|g; s|$repo/||g"
	echo "# QEMU ($(qemu-system-x86_64 --version | head -1))"
	echo "${QEMU_CMD[*]}" | sed "s|$work/|WORK/|g; s|$repo/||g"
	[ -n "${BENCH_POLL_US:-}" ] && echo "# sardine_poll: the sardine command with SARDINE_BLK_POLL_US=$BENCH_POLL_US in its environment"
	echo '```'
	echo
	echo "VMM CPU: utime+stime of the VMM's non-vCPU threads (I/O threads, main loop, workers; kernel io_uring workers of the process included) during the jobs, in CPU seconds per GiB moved. vCPU threads are left out, so it measures the device path only, however fast the guest runs."
	echo
} >"$work/report.md"
python3 - "$work/results.txt" "$(getconf CLK_TCK)" >>"$work/report.md" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
tck = int(sys.argv[2])
data = {}
for who, job, rnd, kib, iops, ms, ticks in rows:
    kib, iops, ms, ticks = float(kib), float(iops), float(ms), int(ticks)
    mbs = kib / 1024 / (ms / 1000) if ms else 0.0
    data.setdefault((who, job), []).append((iops, mbs, kib, ticks))
def med(who, job, i):
    return statistics.median(v[i] for v in data[(who, job)])
def cpu(who, job):
    gib = sum(v[2] for v in data[(who, job)]) / 1024 / 1024
    return sum(v[3] for v in data[(who, job)]) / tck / gib if gib else float("nan")
print("## Results\n")
print("| job | native | sardine | QEMU | sardine/native | sardine/QEMU | sardine VMM CPU s/GiB | QEMU VMM CPU s/GiB |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
checks = []
for job, unit in (("randread", "IOPS"), ("randread_qd1", "IOPS"), ("randwrite", "IOPS"), ("seqread", "MB/s"), ("seqwrite", "MB/s")):
    if ("sardine", job) not in data:
        continue
    i = 0 if unit == "IOPS" else 1
    n, s, q = (med(w, job, i) for w in ("native", "sardine", "qemu"))
    print(f"| {job} ({unit}) | {n:,.0f} | {s:,.0f} | {q:,.0f} | {s / n:.2f} | {s / q:.2f} "
          f"| {cpu('sardine', job):.2f} | {cpu('qemu', job):.2f} |")
    if job == "randread":
        checks += [("4k random read >= 90% of native", s >= 0.9 * n, f"{s / n:.0%} of native"),
                   ("4k random read >= 1.2x QEMU", s >= 1.2 * q, f"{s / q:.2f}x QEMU")]
    if job.startswith("seq"):
        checks.append((f"{job} >= 95% of native", s >= 0.95 * n, f"{s / n:.0%} of native"))
if any(k[0] == "sardine_poll" for k in data):
    print("\n### sardine with polling I/O threads\n")
    print("| job | sardine | sardine_poll | poll/no poll | sardine_poll/QEMU | sardine_poll VMM CPU s/GiB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for job, unit in (("randread", "IOPS"), ("randread_qd1", "IOPS"), ("randwrite", "IOPS"), ("seqread", "MB/s"), ("seqwrite", "MB/s")):
        if ("sardine_poll", job) not in data:
            continue
        i = 0 if unit == "IOPS" else 1
        s, p, q = (med(w, job, i) for w in ("sardine", "sardine_poll", "qemu"))
        print(f"| {job} ({unit}) | {s:,.0f} | {p:,.0f} | {p / s:.2f} | {p / q:.2f} | {cpu('sardine_poll', job):.2f} |")
print("\n## Targets\n\n| target | result | |\n| --- | --- | --- |")
for what, ok, how in checks:
    print(f"| {what} | {how} | {'met' if ok else '**not met**'} |")
print("\n## Every run\n\n| who | job | round | KiB | IOPS | ms | VMM CPU ticks |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |")
for r in rows:
    print("| " + " | ".join(r) + " |")
PY
mkdir -p "$RESULTS"
cp "$work/report.md" "$RESULTS/blk.md"
cat "$work/report.md"
