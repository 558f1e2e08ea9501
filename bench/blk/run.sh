#!/bin/bash
# virtio-blk benchmark: fio in the test guest on a 1 GiB raw image with
# cache=none, under sardine and under QEMU, and the same fio jobs on the
# host against the same image (native), all in one session.
#
#   bench/blk/run.sh [BUILD_DIR]      on a machine whose KVM runs Linux
#                                     (here: inside tests/box; bench/run-all.sh
#                                     does that, sharing bench/results)
#
# Jobs: 4k random read and write IOPS at iodepth 32, 1 MiB sequential read
# and write MB/s (libaio, O_DIRECT).  Beside each result: the VMM's own CPU
# time per GiB moved, i.e. utime+stime of its threads other than the vCPUs
# (sardine's "vcpuN", QEMU's "CPU N/KVM"), from /proc/PID/stat minus
# /proc/PID/task/*/stat of the vCPUs, sampled right before and after each
# job (the guest waits on its console for the host to sample).
# Writes bench/results/blk.md.  Env: BENCH_RUNTIME (s per job, default 20),
# BENCH_IMG_DIR (default /scratch), BENCH_HOST_DESC (the machine outside).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
SARDINE=$build/sardine
GUEST=$repo/build/guest
RUNTIME=${BENCH_RUNTIME:-20}
IMGDIR=${BENCH_IMG_DIR:-/scratch}
RESULTS=${BENCH_RESULTS:-$repo/bench/results}
CPUS=2
MEM=1G
work=$(mktemp -d /tmp/bench-blk.XXXXXX)
IMG=$IMGDIR/bench-blk.img
VMM_PID=

cleanup() {
	if [ -n "$VMM_PID" ] && kill -0 "$VMM_PID" 2>/dev/null; then
		kill -TERM "$VMM_PID" 2>/dev/null
		sleep 2
		kill -KILL "$VMM_PID" 2>/dev/null || true
	fi
	exec 9>&- 2>/dev/null || true
	rm -rf "$work" "$IMG"
}
trap cleanup EXIT

JOBS=(randread randwrite seqread seqwrite)
declare -A JOB_ARGS=(
	[randread]="--rw=randread --bs=4k"
	[randwrite]="--rw=randwrite --bs=4k"
	[seqread]="--rw=read --bs=1M"
	[seqwrite]="--rw=write --bs=1M"
)
FIO_COMMON="--ioengine=libaio --direct=1 --iodepth=32 --numjobs=1 --time_based --runtime=$RUNTIME --ramp_time=2 --norandommap --output-format=terse --terse-version=3"

log() { echo "# $*" >&2; }

# terse v3: 6 read KiB, 8 read IOPS, 9 read ms, 47 write KiB, 49 write IOPS, 50 write ms
parse_terse() { # FILE -> "KIB IOPS MS"
	awk -F';' '{ if ($6 > 0) print $6, $8, $9; else print $47, $49, $50 }' "$1"
}

# ---- the image: 1 GiB, fully allocated (written once) ----
log "writing $IMG"
dd if=/dev/zero of="$IMG" bs=1M count=1024 oflag=direct status=none

# ---- native ----
declare -A RES
for j in "${JOBS[@]}"; do
	log "native $j"
	# shellcheck disable=SC2086
	fio --name="$j" --filename="$IMG" --size=1G ${JOB_ARGS[$j]} $FIO_COMMON >"$work/native-$j.terse"
	RES[native,$j]=$(parse_terse "$work/native-$j.terse")
done

# ---- the guest's side: runs each job when the host says so ----
cat >"$work/guest.sh" <<SCRIPT
run_job() {
	name=\$1; shift
	echo "JOB-START \$name"; read -r ack
	/usr/local/bin/fio --name=\$name --filename=/dev/vda "\$@" $FIO_COMMON >/tmp/\$name.terse 2>/tmp/\$name.err
	echo "JOB-END \$name"; read -r ack
	echo "RESULT \$name \$(awk -F';' '{ if (\$6 > 0) print \$6, \$8, \$9; else print \$47, \$49, \$50 }' /tmp/\$name.terse)"
	head -c 300 /tmp/\$name.err
}
$(for j in "${JOBS[@]}"; do echo "run_job $j ${JOB_ARGS[$j]}"; done)
echo BENCH-DONE
SCRIPT
mkdir -p "$work/cpio/test"
cp "$work/guest.sh" "$work/cpio/test/run.sh"
(cd "$work/cpio" && find test | cpio -o -H newc --quiet) >"$work/extra.cpio"
cat "$GUEST/initramfs.cpio" "$GUEST/tools.cpio" "$work/extra.cpio" >"$work/initrd.cpio"

cpu_ticks() { # PID VCPU_REGEX -> ticks of the non-vCPU threads, exited ones included
	local pid=$1 re=$2 total vcpu=0 t comm
	total=$(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
	for t in /proc/"$pid"/task/*; do
		comm=$(cat "$t/comm" 2>/dev/null) || continue
		[[ $comm =~ $re ]] || continue
		vcpu=$((vcpu + $(sed 's/.*) //' "$t/stat" | awk '{ print $12 + $13 }')))
	done
	echo $((total - vcpu))
}

wait_line() { # LOG PATTERN SECONDS
	local deadline=$((SECONDS + $3))
	while [ $SECONDS -lt $deadline ]; do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		kill -0 "$VMM_PID" 2>/dev/null || { log "VMM died"; tail -20 "$1" >&2; return 1; }
		sleep 0.2
	done
	log "timed out waiting for $2"
	tail -20 "$1" >&2
	return 1
}

# run_vmm NAME VCPU_REGEX COMMAND...: boots, drives the jobs, records.
run_vmm() {
	local name=$1 re=$2 vlog=$work/$1.log j a b
	shift 2
	rm -f "$work/in"
	mkfifo "$work/in"
	exec 9<>"$work/in"
	"$@" <"$work/in" >"$vlog" 2>&1 &
	VMM_PID=$!
	for j in "${JOBS[@]}"; do
		wait_line "$vlog" "^JOB-START $j" 600 || return 1
		a=$(cpu_ticks "$VMM_PID" "$re")
		echo go >&9
		wait_line "$vlog" "^JOB-END $j" $((RUNTIME * 10 + 300)) || return 1
		b=$(cpu_ticks "$VMM_PID" "$re")
		echo go >&9
		wait_line "$vlog" "^RESULT $j " 120 || return 1
		RES[$name,$j]=$(sed -n "s/^RESULT $j //p" "$vlog" | tr -d '\r' | tail -1)
		RES[$name,$j,cpu]=$((b - a))
		log "$name $j: ${RES[$name,$j]} (VMM ticks $((b - a)))"
	done
	wait_line "$vlog" "BENCH-DONE" 60 || return 1
	sleep 5
	kill -TERM "$VMM_PID" 2>/dev/null || true
	wait "$VMM_PID" 2>/dev/null || true
	VMM_PID=
	exec 9>&-
}

CMDLINE="console=ttyS0 quiet panic=-1"
SARDINE_CMD=("$SARDINE" run --kernel "$GUEST/vmlinuz" --initrd "$work/initrd.cpio"
	--cpus $CPUS --memory $MEM --no-rng --cmdline "$CMDLINE" --disk "$IMG,cache=none")
QEMU_CMD=(qemu-system-x86_64 -enable-kvm -cpu host -M q35 -nodefaults -display none
	-smp $CPUS -m $MEM -serial stdio -no-reboot
	-kernel "$GUEST/vmlinuz" -initrd "$work/initrd.cpio" -append "$CMDLINE"
	-drive "file=$IMG,if=none,id=d,format=raw,cache=none,aio=io_uring"
	-device virtio-blk-pci,drive=d)

log "sardine"
run_vmm sardine '^vcpu[0-9]+$' "${SARDINE_CMD[@]}"
log "qemu"
run_vmm qemu '^CPU [0-9]+/KVM$' "${QEMU_CMD[@]}"

# ---- the report ----
for k in "${!RES[@]}"; do echo "$k=${RES[$k]}"; done >"$work/results.txt"
fio_line() { echo "fio --name=$1 --filename=$2 ${JOB_ARGS[$1]} $FIO_COMMON"; }
{
	echo "# virtio-blk: sardine vs QEMU vs native"
	echo
	echo "Generated by \`bench/blk/run.sh\` on $(date -u +%Y-%m-%d) ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown))."
	echo
	echo "## Machine"
	echo
	echo "- outside: ${BENCH_HOST_DESC:-not given (set BENCH_HOST_DESC)}"
	echo "- where this ran: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), Linux $(uname -r)${BOX:+ (inside tests/box: QEMU/TCG with nested KVM, so only ratios between the columns mean anything)}"
	echo "- image: 1 GiB raw file on $(df --output=fstype "$IMGDIR" | tail -1) ($IMGDIR), written in full beforehand"
	echo "- guest: build/guest vmlinuz + initramfs.cpio + tools.cpio, $CPUS vCPUs, $MEM, cache=none"
	echo "- ${RUNTIME} s per job after 2 s of ramp; one run of each"
	echo
	echo "## Commands"
	echo
	echo '```'
	echo "# native (the box's own fio on the image)"
	for j in "${JOBS[@]}"; do fio_line "$j" "$IMG" | sed 's/--filename=[^ ]*/& --size=1G/'; done
	echo "# in the guest, the same jobs on /dev/vda:"
	for j in "${JOBS[@]}"; do fio_line "$j" /dev/vda; done
	echo "# sardine"
	echo "${SARDINE_CMD[*]}" | sed "s|$work/|WORK/|g; s|$repo/||g"
	echo "# QEMU ($(qemu-system-x86_64 --version | head -1))"
	echo "${QEMU_CMD[*]}" | sed "s|$work/|WORK/|g; s|$repo/||g"
	echo '```'
	echo
	echo "VMM CPU = utime+stime of the VMM's non-vCPU threads during the job (I/O threads, main loop, workers), in CPU seconds per GiB moved; vCPU threads are left out, so this measures the device path only."
	echo
	echo "## Results"
	echo
	echo "| job | native | sardine | QEMU | sardine/native | sardine/QEMU | sardine VMM CPU s/GiB | QEMU VMM CPU s/GiB |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
} >"$work/report.md"
python3 - "$work/results.txt" "$(getconf CLK_TCK)" >>"$work/report.md" <<'PY'
import sys
res = dict(line.rstrip("\n").split("=", 1) for line in open(sys.argv[1]))
tck = int(sys.argv[2])
def val(who, job):
    kib, iops, ms = (float(x) for x in res[f"{who},{job}"].split())
    return kib, iops, (kib / 1024 / (ms / 1000) if ms else 0.0)
def cpu(who, job):
    gib = val(who, job)[0] / 1024 / 1024
    return int(res[f"{who},{job},cpu"]) / tck / gib if gib else float("nan")
checks = []
for job, unit in (("randread", "IOPS"), ("randwrite", "IOPS"), ("seqread", "MB/s"), ("seqwrite", "MB/s")):
    i = 1 if unit == "IOPS" else 2
    n, s, q = (val(w, job)[i] for w in ("native", "sardine", "qemu"))
    print(f"| {job} ({unit}) | {n:,.0f} | {s:,.0f} | {q:,.0f} | {s / n:.2f} | {s / q:.2f} "
          f"| {cpu('sardine', job):.2f} | {cpu('qemu', job):.2f} |")
    if job == "randread":
        checks += [("4k random read >= 90% of native", s >= 0.9 * n, f"{s / n:.0%} of native"),
                   ("4k random read >= 1.2x QEMU", s >= 1.2 * q, f"{s / q:.2f}x QEMU")]
    if job.startswith("seq"):
        checks.append((f"{job} >= 95% of native", s >= 0.95 * n, f"{s / n:.0%} of native"))
print("\n## Targets\n\n| target | result | |\n| --- | --- | --- |")
for what, ok, how in checks:
    print(f"| {what} | {how} | {'met' if ok else '**not met**'} |")
PY
mkdir -p "$RESULTS"
cp "$work/report.md" "$RESULTS/blk.md"
cat "$work/report.md"
