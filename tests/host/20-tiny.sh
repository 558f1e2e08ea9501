# Tiny hand-made guests (tests/tiny): boot protocol, console, life cycle.
# They run on any KVM, this host's kvm_pvm included.

test_pvh_boot_console_and_poweroff() {
	local out rc
	out=$("$SARDINE" run --kernel "$TINY_DIR/hello.elf" </dev/null 2>&1)
	rc=$?
	[ "$rc" = 0 ] || { fail "exit status $rc: $out"; return 1; }
	[ "$out" = TINY-HELLO ] || fail "console said: $out"
}

test_triple_fault_reports_and_fails() {
	local out rc
	out=$("$SARDINE" run --kernel "$TINY_DIR/triple_fault.elf" </dev/null 2>&1)
	rc=$?
	[ "$rc" = 1 ] || { fail "exit status $rc, wanted 1"; return 1; }
	printf '%s\n' "$out" | grep -q 'triple fault' || { fail "no clear message: $out"; return 1; }
	printf '%s\n' "$out" | grep -qE 'rip=[0-9a-f]{16}' || fail "no register dump: $out"
}

test_reboot_boots_again() {
	local log=$T/log pid
	bg pid timeout -k 5 20 "$SARDINE" run --kernel "$TINY_DIR/reboot.elf" </dev/null >"$log" 2>&1
	wait_count "$log" TINY-BOOT 3 15 || { fail "did not boot three times"; return 1; }
}

test_no_reboot_exits_zero() {
	local out rc
	out=$(timeout 20 "$SARDINE" run --kernel "$TINY_DIR/reboot.elf" --no-reboot </dev/null 2>&1)
	rc=$?
	[ "$rc" = 0 ] || { fail "exit status $rc: $out"; return 1; }
	[ "$(printf '%s' "$out" | grep -o TINY-BOOT | wc -l)" = 1 ] || fail "booted more than once: $out"
}

test_sigterm_ends_vm_cleanly() {
	local log=$T/log pid rc
	bg pid "$SARDINE" run --kernel "$TINY_DIR/reboot.elf" </dev/null >"$log" 2>&1
	wait_for "$log" TINY-BOOT 10 || { fail "never booted"; return 1; }
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"
}

test_many_vcpus_overcommitted() {
	# 64 vCPUs on this host's few cores: the boot vCPU runs the guest, the
	# others wait for INIT/SIPI; all must be created and torn down.
	local out rc
	out=$("$SARDINE" run --kernel "$TINY_DIR/hello.elf" --cpus 64 </dev/null 2>&1)
	rc=$?
	[ "$rc" = 0 ] || { fail "exit status $rc: $out"; return 1; }
	[ "$out" = TINY-HELLO ] || fail "console said: $out"
}

test_hostile_driver_cannot_hurt_sardine() {
	# tests/tiny/hostile_virtio.c feeds virtio-rng broken rings case after
	# case; each must end in NEEDS_RESET, and a good request afterwards
	# must be served.
	local out rc
	out=$(timeout 120 "$SARDINE" run --kernel "$TINY_DIR/hostile_virtio.elf" </dev/null 2>"$T/err")
	rc=$?
	[ "$rc" = 0 ] || { fail "exit status $rc: $out $(cat "$T/err")"; return 1; }
	printf '%s\n' "$out" | grep ' FAIL$' && { fail "cases failed"; return 1; }
	[ "$(printf '%s\n' "$out" | grep -c ' OK$')" = 14 ] || { fail "cases missing: $out"; return 1; }
	printf '%s\n' "$out" | grep -q '^ALL-DONE' || fail "did not finish: $out"
	grep -q 'needs reset' "$T/err" || fail "no log line for the broken device"
}
