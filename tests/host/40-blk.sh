# Disk images on the command line: every user mistake is one clear line
# and exit status 2, checked before any VM starts; a writable image is
# locked for the whole run (reboots included).  Tiny guests: no Linux.

expect_disk_error() {
	local what=$1 pattern=$2 out rc
	shift 2
	out=$("$SARDINE" run --kernel "$TINY_DIR/hello.elf" "$@" 2>&1 >/dev/null </dev/null)
	rc=$?
	[ "$rc" = 2 ] || { fail "$what: exit status $rc, wanted 2 ($out)"; return 1; }
	[ "$(printf '%s\n' "$out" | grep -c .)" = 1 ] || { fail "$what: not one line: $out"; return 1; }
	printf '%s\n' "$out" | grep -qE "^sardine: error: .*$pattern" ||
		fail "$what: unclear message: $out"
}

test_bad_images_exit_2() {
	truncate -s 1000 "$T/odd.img"
	: > "$T/empty.img"
	truncate -s 1M "$T/ok.img"
	expect_disk_error "missing" "$T/nope.img: no such file" --disk "$T/nope.img" &&
	expect_disk_error "directory" "$T is a directory" --disk "$T" &&
	expect_disk_error "directory, read-only" "$T is neither a regular file nor a block device" \
		--disk "$T,ro" &&
	expect_disk_error "odd size" "odd.img: its size \\(1000 bytes\\) is not a multiple of 512" \
		--disk "$T/odd.img" &&
	expect_disk_error "empty" "empty.img is empty" --disk "$T/empty.img" &&
	expect_disk_error "same image twice" "ok.img is given twice" \
		--disk "$T/ok.img" --disk "$T/ok.img,ro" &&
	expect_disk_error "bad cache" "cache" --disk "$T/ok.img,cache=sometimes" &&
	expect_disk_error "bad format" "format=qcow2: sardine runs raw images only" \
		--disk "$T/ok.img,format=qcow2"
}

# An image of another format (made by qemu-img, from qemu-utils) is refused
# rather than shown to the guest as raw bytes; format=raw says it is raw,
# and the guest runs.  A raw image and one that starts like a LUKS volume
# (a guest may encrypt its whole disk) pass.
test_non_raw_image_refused_unless_format_raw() {
	local f name out rc
	for f in qcow2:qcow2 qcow:qcow qed:QED vmdk:VMDK vdi:VDI vhdx:VHDX vpc:VHD; do
		qemu-img create -q -f "${f%%:*}" "$T/vm.img" 1M || { fail "qemu-img ${f%%:*}"; return 1; }
		truncate -s %512 "$T/vm.img" # some leave a partial last sector
		name=${f#*:}
		expect_disk_error "$name" "vm.img is a $name image; sardine runs raw images .*format=raw" \
			--disk "$T/vm.img" || return 1
		expect_disk_error "$name, read-only" "vm.img is a $name image" --disk "$T/vm.img,ro" || return 1
		rm -f "$T/vm.img"
	done
	qemu-img create -q -f qcow2 "$T/vm.img" 1M && truncate -s %512 "$T/vm.img"
	out=$("$SARDINE" run --kernel "$TINY_DIR/hello.elf" --disk "$T/vm.img,format=raw" 2>&1 </dev/null)
	rc=$?
	[ "$rc" = 0 ] && [ "$out" = TINY-HELLO ] || { fail "format=raw: exit status $rc: $out"; return 1; }
	rm -f "$T/vm.img"
	# A LUKS1 header's magic and version (qemu-img's own LUKS images time
	# their key derivation, which fails on a busy host).
	truncate -s 1M "$T/luks.img"
	printf 'LUKS\272\276\0\001' | dd of="$T/luks.img" conv=notrunc status=none
	qemu-img create -q -f raw "$T/raw.img" 1M
	out=$("$SARDINE" run --kernel "$TINY_DIR/hello.elf" --disk "$T/luks.img" --disk "$T/raw.img" 2>&1 </dev/null)
	rc=$?
	[ "$rc" = 0 ] && [ "$out" = TINY-HELLO ] || fail "LUKS and raw: exit status $rc: $out"
}

test_unreadable_image_exit_2() {
	truncate -s 1M "$T/private.img"
	chmod 600 "$T/private.img"
	chmod 755 "$T"
	local out rc
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$SARDINE" run \
		--kernel "$TINY_DIR/hello.elf" --disk "$T/private.img,ro" 2>&1 </dev/null)
	rc=$?
	[ "$rc" = 2 ] || { fail "exit $rc: $out"; return 1; }
	printf '%s\n' "$out" | grep -q 'private.img: permission denied' || fail "no reason given: $out"
}

test_a_disk_does_not_disturb_a_tiny_guest() {
	local out rc
	truncate -s 1M "$T/ok.img"
	out=$("$SARDINE" run --kernel "$TINY_DIR/hello.elf" --disk "$T/ok.img,serial=x" \
		--disk "$T/ok.img,ro" --disk "$T/ok.img,ro" 2>&1 </dev/null)
	rc=$?
	# Two read-only uses of one image are fine; a writer beside them is not.
	[ "$rc" = 2 ] && printf '%s' "$out" | grep -q 'given twice' || { fail "rw+ro: $rc $out"; return 1; }
	out=$("$SARDINE" run --kernel "$TINY_DIR/hello.elf" --disk "$T/ok.img,ro,serial=x" \
		--disk "$T/ok.img,ro,cache=writeback" 2>&1 </dev/null)
	rc=$?
	[ "$rc" = 0 ] || { fail "exit status $rc: $out"; return 1; }
	[ "$out" = TINY-HELLO ] || fail "console said: $out"
}

test_second_writer_is_refused_across_reboots() {
	# The first VM reboots over and over: its lock must never lapse.
	local log=$T/log out rc i
	truncate -s 1M "$T/shared.img"
	timeout 60 "$SARDINE" run --kernel "$TINY_DIR/reboot.elf" --disk "$T/shared.img" \
		</dev/null >"$log" 2>&1 &
	BG_PIDS+=($!)
	wait_count "$log" TINY-BOOT 2 30 || { fail "holder did not boot"; return 1; }
	for i in 1 2 3 4 5; do
		out=$("$SARDINE" run --kernel "$TINY_DIR/hello.elf" --disk "$T/shared.img" 2>&1 </dev/null)
		rc=$?
		[ "$rc" = 2 ] || { fail "try $i: exit status $rc: $out"; return 1; }
		printf '%s\n' "$out" | grep -q 'shared.img is in use by another process' ||
			{ fail "try $i: unclear message: $out"; return 1; }
		out=$("$SARDINE" run --kernel "$TINY_DIR/hello.elf" --disk "$T/shared.img,ro" 2>&1 </dev/null)
		[ $? = 2 ] || { fail "try $i: a reader got in beside the writer: $out"; return 1; }
	done
}

test_sigterm_with_a_disk_ends_cleanly() {
	# The disk's worker threads start before the control loop blocks
	# SIGTERM; they must never take it (its default action would end
	# sardine at once, leaving its API socket behind).
	local log=$T/log pid rc
	export SARDINE_RUNTIME_DIR=$T/run
	truncate -s 1M "$T/d.img"
	bg pid "$SARDINE" run --kernel "$TINY_DIR/reboot.elf" --disk "$T/d.img" --name sig \
		</dev/null >"$log" 2>&1
	wait_for "$log" TINY-BOOT 10 || { fail "never booted"; return 1; }
	[ -S "$T/run/sig.sock" ] || fail "no API socket" || return 1
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM" || return 1
	[ ! -e "$T/run/sig.sock" ] || fail "API socket left behind"
}

test_lock_held_by_another_program() {
	# Anything holding an OFD write lock keeps sardine out (and the other
	# way round: sardine's lock is a real OFD lock).
	truncate -s 1M "$T/locked.img"
	python3 - "$SARDINE" "$TINY_DIR/hello.elf" "$T/locked.img" <<'PY'
import fcntl, os, struct, subprocess, sys
sardine, kernel, img = sys.argv[1:]
fd = os.open(img, os.O_RDWR)
fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhqqi", fcntl.F_RDLCK, 0, 0, 0, 0))
r = subprocess.run([sardine, "run", "--kernel", kernel, "--disk", img],
                   capture_output=True, text=True, stdin=subprocess.DEVNULL)
if r.returncode != 2 or "in use" not in r.stderr:
    print("#   FAIL: writer beside a reader:", r.returncode, r.stderr); sys.exit(1)
r = subprocess.run([sardine, "run", "--kernel", kernel, "--disk", img + ",ro"],
                   capture_output=True, text=True, stdin=subprocess.DEVNULL)
if r.returncode != 0:
    print("#   FAIL: two readers:", r.returncode, r.stderr); sys.exit(1)
PY
}
