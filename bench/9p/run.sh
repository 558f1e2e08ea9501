#!/bin/bash
# 9p benchmark: sardine's virtio-9p against QEMU's -virtfs (both with
# security model mapped-xattr), and sardine's virtio-blk with ext4 when this
# build has it, all in one box session, same guest kernel and initramfs.
# In the guest: sequential write and read of a 1 GiB file, and 10,000 files
# created, stat'ed and unlinked; beside each, the VMM's own CPU time (its
# threads other than vCPUs).  Usage: bench/9p/run.sh [BUILD_DIR]
# Outside the box it re-runs itself inside tests/box.  Writes
# bench/results/9p.md.  RUNS (default 2) rounds, VMMs alternating; SEQ_MB
# (default 1024) and SMALL_N (default 10000) size the workload, BOX_CPUS
# the box (default 2).
set -eu
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
out=$repo/bench/results/9p.md
. "$repo/bench/lib.sh"
if [ -z "${BOX:-}" ] && ! host_kvm_runs_linux; then
	mkdir -p "$repo/bench/results"
	exec "$repo/tests/box/box" --cpus "${BOX_CPUS:-2}" --mem 6G --scratch-size 0 --timeout 5400 --out "$repo/bench/results" \
		--env RUNS="${RUNS:-2}" --env SEQ_MB="${SEQ_MB:-1024}" --env SMALL_N="${SMALL_N:-10000}" \
		-- "$here/run.sh $build"
fi
runs=${RUNS:-2}
seq_mb=${SEQ_MB:-1024}
small_n=${SMALL_N:-10000}
work=$(mktemp -d)
mnt=$work/fs
cleanup() {
	umount "$mnt" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
g=$repo/build/guest
msize=512000
cache=none
mount_opts="trans=virtio,version=9p2000.L,msize=$msize,cache=$cache"
mem=1024

# The shared directory: ext4 (mapped-xattr needs user xattrs) on a loop
# device in RAM, so that the disk under it is no part of what is measured.
mkdir -p "$mnt"
truncate -s 3G "$work/fs.img"
mkfs.ext4 -q -F "$work/fs.img"
mount -o loop "$work/fs.img" "$mnt"
share=$mnt/share
fsdesc="ext4 on a loop device backed by tmpfs (box RAM)"

# The guest: the test initramfs plus the workload tool and the script.
cc -static -O2 -o "$work/bench9p" "$here/bench9p.c"
mkdir -p "$work/extra/test" "$work/extra/usr/local/bin"
cp "$work/bench9p" "$work/extra/usr/local/bin/"
cat > "$work/extra/test/run.sh" <<EOF
B=/usr/local/bin/bench9p
if [ -e /dev/vda ]; then
    mount -t ext4 /dev/vda /mnt || { echo BENCH-MOUNT-FAILED; exit 1; }
else
    mount -t 9p -o $mount_opts t /mnt || { echo BENCH-MOUNT-FAILED; exit 1; }
fi
phase() { n=\$1; shift; echo "PHASE-BEGIN \$n"; sleep 2; "\$@"; echo "PHASE-END \$n"; sleep 2; }
phase seq_write \$B write /mnt/big $seq_mb 1024
echo 3 > /proc/sys/vm/drop_caches
phase seq_read \$B read /mnt/big 1024
rm /mnt/big
mkdir /mnt/small
phase small_files \$B small /mnt/small $small_n
rmdir /mnt/small
umount /mnt
EOF
(cd "$work/extra" && find . | cpio -o -H newc --quiet) > "$work/extra.cpio"
cat "$g/initramfs.cpio" "$work/extra.cpio" > "$work/initrd.cpio"

append="console=ttyS0 quiet panic=-1"
# QEMU names its vCPU threads "CPU N/KVM" only with debug-threads=on; without
# it (before 2026-11-26) its vCPU time counted as VMM time.
{
	printf 'sardine virtio-9p\t^vcpu[0-9]+$\t%s run --kernel %s --initrd %s --memory %sM --cpus 1 --share %s:t,security=mapped --cmdline "%s"\n' \
		"$build/sardine" "$g/vmlinux" "$work/initrd.cpio" "$mem" "$share" "$append"
	printf 'QEMU virtio-9p\t^CPU [0-9]+/KVM$\tqemu-system-x86_64 -name bench,debug-threads=on -M q35 -enable-kvm -cpu host -m %s -smp 1 -nodefaults -no-user-config -display none -serial stdio -kernel %s -initrd %s -append "%s" -virtfs local,path=%s,mount_tag=t,security_model=mapped-xattr\n' \
		"$mem" "$g/vmlinux" "$work/initrd.cpio" "$append" "$share"
	if nm "$build/sardine" 2>/dev/null | grep -q virtio_blk_create; then
		printf 'sardine virtio-blk ext4\t^vcpu[0-9]+$\t%s run --kernel %s --initrd %s --memory %sM --cpus 1 --disk %s/blk.img --cmdline "%s"\n' \
			"$build/sardine" "$g/vmlinux" "$work/initrd.cpio" "$mem" "$mnt" "$append"
	fi
} > "$work/vmms.one"
: > "$work/vmms"
for _ in $(seq "$runs"); do cat "$work/vmms.one" >> "$work/vmms"; done

# Each run starts from an empty share (and a fresh ext4 image for blk).
export BEFORE_EACH="rm -rf '$share' && mkdir -p '$share' && rm -f '$mnt/blk.img' && truncate -s 1536M '$mnt/blk.img' && mkfs.ext4 -q -F '$mnt/blk.img'"
LOGDIR=$work LIMIT=2400 python3 "$here/measure.py" "$work/vmms" "$work/results.json"

{
	echo "# 9p benchmark"
	echo
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') inside tests/box (QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}') TCG, $(nproc) CPUs, nested KVM, $(box_tsc)),"
	echo "box kernel $(uname -r), on a host with $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')."
	echo "Everything in the box is emulated: absolute numbers are far below native; compare ratios within this table only."
	echo
	echo "- Guest: build/guest/vmlinux, the test initramfs, $mem MiB, 1 vCPU; the workload is bench/9p/bench9p.c (static)."
	echo "- 9p mount, the same for both VMMs: \`mount -t 9p -o $mount_opts t /mnt\`."
	echo "- Shared directory: $fsdesc; both VMMs with the mapped-xattr security model."
	echo "- seq_write: $seq_mb MiB in 1 MiB write()s, then fsync; seq_read: the same file in 1 MiB read()s after drop_caches in the guest (the host's page cache holds it);"
	echo "  small_files: $small_n empty files created, then stat'ed, then unlinked ($((3 * small_n)) operations)."
	echo "- VMM CPU: utime+stime of the VMM's threads other than its vCPUs over the phase (/proc/PID/stat minus the vCPU threads' /proc/PID/task/TID/stat),"
	echo "  per GiB moved for the sequential phases, per 1,000 operations for small_files."
	echo "- $runs rounds, VMMs alternating; each cell: the mean, then the rounds' values."
	echo
	python3 "$here/report.py" "$work/results.json"
	echo
	echo "Commands (the guest runs /test/run.sh from the initramfs):"
	echo
	echo '```'
	cut -f1,3 "$work/vmms.one" | sed "s|$work|\$WORK|g; s|$repo/||g; s|\t|: |"
	echo '```'
} > "$work/9p.md"
cp "$work/9p.md" "$out"
cat "$out"
