# virtio-blk end to end: a Linux guest uses raw images through sardine and
# the host checks the real bytes.  Two boots, many checks each (boots are
# what costs under the box's emulation):
#   io_uring_disks   five disks (io_uring engine, cache=none and writeback):
#                    size, serial, multiqueue, a pattern's sha256 in guest and
#                    image, fio with verification, read-only, ext4 + e2fsck,
#                    driver unload/reload, write-zeroes and discard (allocated
#                    blocks measured on the host between phases), and kill -9
#                    after the guest's sync;
#   thread_pool_disks the same data path on the thread pool
#                    (SARDINE_BLK_ENGINE=threads), and a second VM refused
#                    the image the first one writes;
#   host_block_device a loop device (4 KiB sectors) as the disk: size,
#                    topology, data, discard (not applicable without loop).
# Images live under /scratch (a real ext4 disk in the box: O_DIRECT) when
# it is there, else under /var/tmp.

BLK_MEM=768M

blk_image_dir() {
	local base=/var/tmp
	[ -d /scratch ] && [ -w /scratch ] && base=/scratch
	IMGDIR=$(mktemp -d "$base/sardine-blk.XXXXXX")
}

teardown() {
	[ -n "${LOOPDEV:-}" ] && losetup -d "$LOOPDEV"
	[ -n "${IMGDIR:-}" ] && rm -rf "$IMGDIR"
}

sha_of() { # FILE [SKIP_MIB COUNT_MIB]
	if [ $# -gt 1 ]; then
		dd if="$1" bs=1M skip="$2" count="$3" 2>/dev/null | sha256sum | cut -d' ' -f1
	else
		sha256sum "$1" | cut -d' ' -f1
	fi
}

# expect_value LOG KEY WANTED
expect_value() {
	local got
	got=$(guest_value "$1" "$2")
	[ "$got" = "$3" ] || { fail "$2 is '$got', wanted '$3'"; return 1; }
}

allocated_bytes() {
	echo $(( $(stat -c %b "$1") * $(stat -c %B "$1") ))
}

# Whether sardine (PID) holds IMAGE open with O_DIRECT: yes, no or none.
direct_flag() {
	local pid=$1 img=$2 fd flags
	for fd in /proc/"$pid"/fd/*; do
		[ "$(readlink "$fd")" = "$img" ] || continue
		flags=$(awk '/^flags:/ {print $2}' /proc/"$pid"/fdinfo/"${fd##*/}")
		# O_DIRECT is 040000 (octal) on x86.
		if [ $(( 8#$flags & 8#40000 )) != 0 ]; then echo yes; return; fi
	done
	echo no
}

uring_fds() {
	ls -l /proc/"$1"/fd 2>/dev/null | grep -c 'io_uring'
}

# Starts sardine itself (no `timeout` wrapper: kill -9 must reach it) with
# the console's input on a FIFO kept open on fd 9; sets SARDINE_PID.  The
# console goes to LOG, sardine's own messages to LOG.err: in one file, a
# message written while the guest's serial line still drains the previous
# line (its transmit is interrupt-driven, behind the shell) splits that line.
start_with_input() {
	local log=$1
	shift
	mkfifo "$T/console-in"
	exec 9<>"$T/console-in"
	guest_command "$@"
	# GUEST_CMD is "timeout ... sardine run ..."; drop the wrapper.
	"${GUEST_CMD[@]:3}" <"$T/console-in" >"$log" 2>"$log.err" &
	SARDINE_PID=$!
	BG_PIDS+=("$SARDINE_PID")
}

io_uring_script() {
	cat > "$T/guest.sh" <<'SCRIPT'
# Kernel messages stay in dmesg, off the console: the I/O error that the
# refused header write logs would land in a shell line still draining.
echo 1 > /proc/sys/kernel/printk
say() { echo "$1=$2"; }
sha() { sha256sum | cut -d' ' -f1; }
say SIZE_A "$(cat /sys/block/vda/size)"
say SERIAL_A "$(cat /sys/block/vda/serial)"
say QUEUES_A "$(ls /sys/block/vda/mq | wc -l)"
say RO_B "$(cat /sys/block/vdb/ro)"
say DISCARD_D "$(cat /sys/block/vdd/queue/discard_max_bytes)"
dd if=/dev/urandom of=/tmp/pat bs=1M count=8 2>/dev/null
say PAT "$(sha < /tmp/pat)"
dd if=/tmp/pat of=/dev/vda bs=1M seek=4 oflag=direct 2>/dev/null; say W_A $?
say BACK_A "$(dd if=/dev/vda bs=1M skip=4 count=8 iflag=direct 2>/dev/null | sha)"
say RO_SHA "$(dd if=/dev/vdb bs=64k iflag=direct 2>/dev/null | sha)"
if dd if=/tmp/pat of=/dev/vdb bs=4k count=1 oflag=direct 2>/dev/null; then
	say RO_WRITE accepted; else say RO_WRITE refused; fi
# A qcow2 header on the first sector: refused on vda, taken on vdd (format=raw).
printf 'QFI\373\0\0\0\003' > /tmp/hdr; dd if=/dev/zero bs=4088 count=1 2>/dev/null >> /tmp/hdr
say HDR_SHA "$(sha < /tmp/hdr)"
say HEAD_BEFORE "$(dd if=/dev/vda bs=4096 count=1 iflag=direct 2>/dev/null | sha)"
if dd if=/tmp/hdr of=/dev/vda bs=4096 count=1 oflag=direct 2>/dev/null; then
	say HDR_A written; else say HDR_A refused; fi
say HEAD_A "$(dd if=/dev/vda bs=4096 count=1 iflag=direct 2>/dev/null | sha)"
if dd if=/tmp/hdr of=/dev/vdd bs=4096 count=1 oflag=direct 2>/dev/null; then
	say HDR_D written; else say HDR_D refused; fi
say HEAD_D "$(dd if=/dev/vdd bs=4096 count=1 iflag=direct 2>/dev/null | sha)"
/usr/local/bin/fio --name=verify --filename=/dev/vda --offset=32M --size=8M --rw=randwrite \
	--bs=4k --iodepth=16 --ioengine=libaio --direct=1 --verify=crc32c --do_verify=1 \
	--output=/tmp/fio.out >/dev/null 2>&1; say FIO $?
grep -iE 'err|verify' /tmp/fio.out | head -5 | sed 's/^/FIO-LOG: /'
/usr/local/sbin/mkfs.ext4 -q -F /dev/vdc && mount -t ext4 /dev/vdc /mnt &&
	cp /tmp/pat /mnt/file && umount /mnt; say FS_MADE $?
/usr/local/sbin/e2fsck -fn /dev/vdc >/tmp/fsck.out 2>&1; say FSCK $?
mount -t ext4 -o ro /dev/vdc /mnt && say FS_SHA "$(sha < /mnt/file)" && umount /mnt
rmmod virtio_blk; say UNLOADED "$(ls /sys/block | grep -c vd)"
insmod "/lib/modules/$(uname -r)/kernel/drivers/block/virtio_blk.ko"; say RELOAD $?
i=0; while [ ! -b /dev/vde ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
say RELOAD_A "$(dd if=/dev/vda bs=1M skip=4 count=8 iflag=direct 2>/dev/null | sha)"
say RELOAD_SERIAL "$(cat /sys/block/vda/serial)"
dd if=/dev/urandom of=/dev/vdd bs=1M count=16 oflag=direct 2>/dev/null
say KEPT_BEFORE "$(dd if=/dev/vdd bs=1M skip=1 count=15 iflag=direct 2>/dev/null | sha)"
echo PHASE=written; read -r line
/usr/local/sbin/blkdiscard -z -o 0 -l 1048576 /dev/vdd; say ZERO_RC $?
say ZEROED "$(dd if=/dev/vdd bs=1M count=1 iflag=direct 2>/dev/null | tr -d '\000' | wc -c)"
say KEPT "$(dd if=/dev/vdd bs=1M skip=1 count=15 iflag=direct 2>/dev/null | sha)"
/usr/local/sbin/blkdiscard /dev/vdd; say DISCARD_RC $?
echo PHASE=discarded; read -r line
dd if=/tmp/pat of=/dev/vde bs=1M 2>/dev/null; sync; say SYNC $?
echo PHASE=synced
sleep 600
SCRIPT
	script_initrd "$(tools_initrd)" "$T/guest.sh"
}

# One of the long ones: ~2x its one-CPU-box time, for a loaded host.
# time limit: test_io_uring_disks 800
test_io_uring_disks() {
	local log=$T/log initrd before after i
	blk_image_dir
	truncate -s 64M "$IMGDIR/a.img" "$IMGDIR/c.img"
	truncate -s 32M "$IMGDIR/d.img"
	truncate -s 16M "$IMGDIR/e.img"
	head -c 1M /dev/urandom > "$IMGDIR/b.img"
	local ro_sha=$(sha_of "$IMGDIR/b.img")
	initrd=$(io_uring_script)
	start_with_input "$log" --initrd "$initrd" --cpus 2 --memory "$BLK_MEM" \
		--disk "$IMGDIR/a.img,cache=none,serial=SARDINE-A-1234" \
		--disk "$IMGDIR/b.img,ro" \
		--disk "$IMGDIR/c.img,cache=writeback" \
		--disk "$IMGDIR/d.img,cache=none,format=raw" \
		--disk "$IMGDIR/e.img"
	wait_for "$log" SARDINE-GUEST-READY || { fail "guest not ready"; return 1; }
	[ "$(uring_fds "$SARDINE_PID")" -ge 1 ] || { fail "no io_uring in use"; return 1; }
	[ "$(direct_flag "$SARDINE_PID" "$IMGDIR/a.img")" = yes ] || { fail "cache=none without O_DIRECT"; return 1; }
	[ "$(direct_flag "$SARDINE_PID" "$IMGDIR/c.img")" = no ] || { fail "cache=writeback with O_DIRECT"; return 1; }

	wait_for "$log" '^PHASE=written' || { fail "guest never wrote the discard disk"; return 1; }
	before=$(allocated_bytes "$IMGDIR/d.img")
	echo go >&9
	wait_for "$log" '^PHASE=discarded' || { fail "guest never discarded"; return 1; }
	after=$(allocated_bytes "$IMGDIR/d.img")
	echo go >&9
	wait_for "$log" '^PHASE=synced' || { fail "guest never synced"; return 1; }
	kill -KILL "$SARDINE_PID"
	wait "$SARDINE_PID" 2>/dev/null
	exec 9>&-

	local pat=$(guest_value "$log" PAT)
	expect_value "$log" SIZE_A 131072 &&
	expect_value "$log" SERIAL_A SARDINE-A-1234 &&
	expect_value "$log" QUEUES_A 2 &&
	expect_value "$log" RO_B 1 &&
	expect_value "$log" W_A 0 &&
	expect_value "$log" BACK_A "$pat" || return 1
	[ "$(sha_of "$IMGDIR/a.img" 4 8)" = "$pat" ] || { fail "host image holds other bytes than the guest wrote"; return 1; }
	expect_value "$log" RO_SHA "$ro_sha" &&
	expect_value "$log" RO_WRITE refused || return 1
	[ "$(sha_of "$IMGDIR/b.img")" = "$ro_sha" ] || { fail "read-only image changed"; return 1; }
	expect_value "$log" HDR_A refused &&
	expect_value "$log" HEAD_A "$(guest_value "$log" HEAD_BEFORE)" &&
	expect_value "$log" HDR_D written &&
	expect_value "$log" HEAD_D "$(guest_value "$log" HDR_SHA)" || return 1
	[ "$(head -c 4 "$IMGDIR/a.img" | od -An -tx1 | tr -d ' ')" != 514649fb ] ||
		{ fail "the qcow2 header reached a.img"; return 1; }
	[ "$(grep -c 'a.img: the guest wrote a qcow2 header to its first sector: refused' "$log.err")" = 1 ] ||
		{ fail "no (or more than one) log line for the refused header"; return 1; }
	expect_value "$log" FIO 0 || { grep FIO-LOG "$log" >&2; return 1; }
	expect_value "$log" FS_MADE 0 &&
	expect_value "$log" FSCK 0 &&
	expect_value "$log" FS_SHA "$pat" || return 1
	/sbin/e2fsck -fn "$IMGDIR/c.img" >/dev/null 2>&1 || { fail "host e2fsck finds errors"; return 1; }
	expect_value "$log" UNLOADED 0 &&
	expect_value "$log" RELOAD 0 &&
	expect_value "$log" RELOAD_A "$pat" &&
	expect_value "$log" RELOAD_SERIAL SARDINE-A-1234 || return 1
	[ "$(guest_value "$log" DISCARD_D)" -gt 0 ] || { fail "no discard in the guest"; return 1; }
	expect_value "$log" ZERO_RC 0 &&
	expect_value "$log" ZEROED 0 &&
	expect_value "$log" KEPT "$(guest_value "$log" KEPT_BEFORE)" &&
	expect_value "$log" DISCARD_RC 0 || return 1
	note "discard disk: $before bytes allocated before, $after after"
	[ "$before" -ge $((15 << 20)) ] || { fail "only $before bytes allocated after writing 16 MiB"; return 1; }
	[ "$after" -le $((1 << 20)) ] || { fail "$after bytes still allocated after discard"; return 1; }
	expect_value "$log" SYNC 0 || return 1
	[ "$(sha_of "$IMGDIR/e.img" 0 8)" = "$pat" ] || { fail "synced data lost by kill -9"; return 1; }
	! grep -E '^sardine: (error|warn)' "$log.err" | grep -v 'first sector: refused' ||
		fail "sardine complained"
}

thread_pool_script() {
	cat > "$T/guest.sh" <<'SCRIPT'
say() { echo "$1=$2"; }
sha() { sha256sum | cut -d' ' -f1; }
say QUEUES_A "$(ls /sys/block/vda/mq | wc -l)"
say QUEUES_B "$(ls /sys/block/vdb/mq | wc -l)"
say SERIAL_B "$(cat /sys/block/vdb/serial)"
dd if=/dev/urandom of=/tmp/pat bs=1M count=8 2>/dev/null
say PAT "$(sha < /tmp/pat)"
for d in a b; do
	dd if=/tmp/pat of=/dev/vd$d bs=1M seek=1 oflag=direct 2>/dev/null; say W_$d $?
	say BACK_$d "$(dd if=/dev/vd$d bs=1M skip=1 count=8 iflag=direct 2>/dev/null | sha)"
	/usr/local/bin/fio --name=verify --filename=/dev/vd$d --offset=16M --size=4M --rw=randwrite \
		--bs=4k --iodepth=16 --ioengine=libaio --direct=1 --verify=crc32c --do_verify=1 \
		--output=/tmp/fio.out >/dev/null 2>&1; say FIO_$d $?
	grep -iE 'err|verify' /tmp/fio.out | head -5 | sed 's/^/FIO-LOG: /'
done
/usr/local/sbin/blkdiscard -o 16777216 -l 8388608 /dev/vdb; say DISCARD_RC $?
sync; say SYNC $?
echo PHASE=done; read -r line
SCRIPT
	script_initrd "$(tools_initrd)" "$T/guest.sh"
}

# One of the long ones: ~2x its one-CPU-box time, for a loaded host.
# time limit: test_thread_pool_disks 800
test_thread_pool_disks() {
	local log=$T/log initrd out rc pool
	blk_image_dir
	truncate -s 32M "$IMGDIR/a.img" "$IMGDIR/b.img"
	initrd=$(thread_pool_script)
	export SARDINE_BLK_ENGINE=threads
	start_with_input "$log" --initrd "$initrd" --cpus 2 --memory "$BLK_MEM" \
		--disk "$IMGDIR/a.img,cache=none" \
		--disk "$IMGDIR/b.img,cache=writeback,queues=1,serial=pool-b"
	unset SARDINE_BLK_ENGINE
	wait_for "$log" SARDINE-GUEST-READY || { fail "guest not ready"; return 1; }
	[ "$(uring_fds "$SARDINE_PID")" = 0 ] || { fail "io_uring used despite SARDINE_BLK_ENGINE=threads"; return 1; }
	pool=$(grep -lx blk-pool /proc/"$SARDINE_PID"/task/*/comm 2>/dev/null | wc -l)
	[ "$pool" -ge 2 ] || { fail "only $pool pool threads"; return 1; }
	[ "$(direct_flag "$SARDINE_PID" "$IMGDIR/a.img")" = yes ] || { fail "cache=none without O_DIRECT"; return 1; }

	# A second VM may not open the image the first one writes.
	out=$("$SARDINE" run --kernel "$GUEST_KERNEL" --initrd "$GUEST_INITRD" \
		--disk "$IMGDIR/a.img" 2>&1 </dev/null)
	rc=$?
	[ "$rc" = 2 ] || { fail "second VM: exit status $rc: $out"; return 1; }
	[ "$(printf '%s\n' "$out" | grep -c .)" = 1 ] &&
		printf '%s\n' "$out" | grep -q "a.img is in use by another process" ||
		{ fail "second VM: unclear message: $out"; return 1; }

	wait_for "$log" '^PHASE=done' || { fail "guest did not finish"; return 1; }
	echo go >&9
	wait "$SARDINE_PID"
	rc=$?
	exec 9>&-
	expect_clean_run "$log" "$rc" || return 1
	local pat=$(guest_value "$log" PAT)
	expect_value "$log" QUEUES_A 2 &&
	expect_value "$log" QUEUES_B 1 &&
	expect_value "$log" SERIAL_B pool-b &&
	expect_value "$log" BACK_a "$pat" &&
	expect_value "$log" BACK_b "$pat" &&
	expect_value "$log" FIO_a 0 &&
	expect_value "$log" FIO_b 0 &&
	expect_value "$log" DISCARD_RC 0 &&
	expect_value "$log" SYNC 0 || { grep FIO-LOG "$log" >&2; return 1; }
	[ "$(sha_of "$IMGDIR/a.img" 1 8)" = "$pat" ] && [ "$(sha_of "$IMGDIR/b.img" 1 8)" = "$pat" ] ||
		{ fail "host images hold other bytes than the guest wrote"; return 1; }
	! grep -E '^sardine: (error|warn)' "$log.err" || fail "sardine complained"
}

blockdev_script() {
	cat > "$T/guest.sh" <<'SCRIPT'
say() { echo "$1=$2"; }
sha() { sha256sum | cut -d' ' -f1; }
say SIZE "$(cat /sys/block/vda/size)"
say LBS "$(cat /sys/block/vda/queue/logical_block_size)"
say PBS "$(cat /sys/block/vda/queue/physical_block_size)"
dd if=/dev/urandom of=/tmp/pat bs=64k count=64 2>/dev/null
say PAT "$(sha < /tmp/pat)"
dd if=/tmp/pat of=/dev/vda bs=64k seek=16 oflag=direct 2>/dev/null; say W $?
say BACK "$(dd if=/dev/vda bs=64k skip=16 count=64 iflag=direct 2>/dev/null | sha)"
dd if=/tmp/pat of=/dev/vda bs=64k seek=128 oflag=direct 2>/dev/null; sync
echo PHASE=written; read -r line
blkdiscard -o 8388608 -l 4194304 /dev/vda; say DISCARD_RC $?
say ZEROS "$(dd if=/dev/vda bs=64k skip=128 count=64 iflag=direct 2>/dev/null | tr -d '\000' | wc -c)"
echo PHASE=discarded; read -r line
SCRIPT
	script_initrd "$GUEST_INITRD" "$T/guest.sh"
}

test_host_block_device() {
	# A loop device with 4 KiB sectors stands for a disk: size from
	# BLKGETSIZE64, topology from BLKSSZGET/BLKPBSZGET, discard as
	# BLKDISCARD (the loop driver punches the backing file).
	local log=$T/log initrd before after rc
	blk_image_dir
	truncate -s 32M "$IMGDIR/backing.img"
	LOOPDEV=$(losetup --sector-size 4096 -f --show "$IMGDIR/backing.img" 2>/dev/null) ||
		{ note "no loop devices here"; return 77; }
	initrd=$(blockdev_script)
	start_with_input "$log" --initrd "$initrd" --disk "$LOOPDEV,cache=none"
	wait_for "$log" '^PHASE=written' || { fail "guest did not write"; return 1; }
	before=$(allocated_bytes "$IMGDIR/backing.img")
	echo go >&9
	wait_for "$log" '^PHASE=discarded' || { fail "guest did not discard"; return 1; }
	after=$(allocated_bytes "$IMGDIR/backing.img")
	echo go >&9
	wait "$SARDINE_PID"
	rc=$?
	exec 9>&-
	expect_clean_run "$log" "$rc" || return 1
	local pat=$(guest_value "$log" PAT)
	expect_value "$log" SIZE 65536 &&
	expect_value "$log" LBS 4096 &&
	expect_value "$log" W 0 &&
	expect_value "$log" BACK "$pat" &&
	expect_value "$log" DISCARD_RC 0 &&
	expect_value "$log" ZEROS 0 || return 1
	[ "$(dd if="$IMGDIR/backing.img" bs=64k skip=16 count=64 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$pat" ] ||
		{ fail "backing file holds other bytes than the guest wrote"; return 1; }
	note "loop backing file: $before bytes allocated before discard, $after after"
	[ "$after" -le $((before - (4 << 20))) ] || fail "discard freed nothing in the backing file"
}
