# Power off, reboot, --no-reboot, signals, ordinary users, console input.

test_reboot_boots_again() {
	local log=$T/log pid rc
	guest_start "$log" -- 'reboot -f'
	pid=$GUEST_PID
	wait_count "$log" SARDINE-GUEST-READY 2 || { fail "no second boot"; return 1; }
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"
}

test_no_reboot_exits_zero() {
	local log=$T/log rc
	guest_run "$log" --no-reboot -- 'reboot -f'
	rc=$?
	[ "$rc" = 0 ] || { fail "exit status $rc"; return 1; }
	[ "$(grep -c SARDINE-GUEST-READY "$log")" = 1 ] || fail "booted more than once"
}

test_unprivileged_user_with_serial_input() {
	# An ordinary user who may open /dev/kvm runs the VM; input arrives on
	# a pipe once the guest waits for it (interrupt-driven receive).
	local log=$T/log fifo=$T/in pid
	chmod 755 "$T"
	mkfifo "$fifo"
	# Open our end first (read-write does not block), so the VM's open
	# of the other end does not wait for us.
	exec 9<>"$fifo"
	chmod 666 "$fifo"
	bg pid setpriv --reuid=65534 --regid=65534 --clear-groups \
		timeout "$GUEST_TIMEOUT" "$SARDINE" run --kernel "$GUEST_KERNEL" --initrd "$GUEST_INITRD" \
		--cmdline "$GUEST_CMDLINE_BASE -- echo WAITING; read -r line; echo GOT=\$line; grep -E 'ttyS0|serial' /proc/interrupts | awk '{print \"UARTIRQ=\" \$2}'" \
		<"$fifo" >"$log" 2>&1
	wait_for "$log" WAITING || { exec 9>&-; fail "guest never waited for input"; return 1; }
	echo "hello-from-the-host" >&9
	exec 9>&-
	wait "$pid"
	expect_clean_run "$log" $? || return 1
	[ "$(guest_value "$log" GOT)" = hello-from-the-host ] || fail "guest read: $(guest_value "$log" GOT)" || return 1
	[ "$(guest_value "$log" UARTIRQ)" -gt 0 ] || fail "no UART interrupts"
}

test_terminal_escape_and_restore() {
	# On a terminal: raw mode while running, Ctrl-A x quits, and the
	# terminal settings are exactly restored.
	python3 - "$SARDINE" "$GUEST_KERNEL" "$GUEST_INITRD" "$GUEST_TIMEOUT" <<'PY'
import os, pty, sys, termios, time, select
sardine, kernel, initrd, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
master, slave = pty.openpty()
before = termios.tcgetattr(slave)
pid = os.fork()
if pid == 0:
    os.setsid()
    os.dup2(slave, 0); os.dup2(slave, 1); os.dup2(slave, 2)
    os.execv(sardine, [sardine, "run", "--kernel", kernel, "--initrd", initrd,
                       "--cmdline", "console=ttyS0 quiet -- sleep 600"])
out = b""
deadline = time.time() + limit
raw_seen = False
while time.time() < deadline and b"SARDINE-GUEST-READY" not in out:
    r, _, _ = select.select([master], [], [], 1)
    if r:
        out += os.read(master, 65536)
    if not (termios.tcgetattr(slave)[3] & termios.ICANON):
        raw_seen = True
if b"SARDINE-GUEST-READY" not in out:
    print("#   FAIL: guest not ready"); os.kill(pid, 9); sys.exit(1)
os.write(master, b"\x01x")
t0 = time.time()
while time.time() - t0 < 30:
    wpid, status = os.waitpid(pid, os.WNOHANG)
    if wpid:
        break
    r, _, _ = select.select([master], [], [], 0.5)
    if r:
        try: os.read(master, 65536)
        except OSError: pass
else:
    print("#   FAIL: Ctrl-A x did not end sardine"); os.kill(pid, 9); sys.exit(1)
after = termios.tcgetattr(slave)
if not raw_seen:
    print("#   FAIL: terminal never went to raw mode"); sys.exit(1)
if os.WEXITSTATUS(status) != 0:
    print("#   FAIL: exit status", os.WEXITSTATUS(status)); sys.exit(1)
if before != after:
    print("#   FAIL: terminal not restored", before, after); sys.exit(1)
PY
}
