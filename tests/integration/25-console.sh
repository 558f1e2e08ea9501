# The guest console on virtio-console (hvc0) instead of the UART: a shell
# on it, input and output through sardine's stdio.

test_virtio_console_carries_a_shell() {
	local log=$T/log fifo=$T/in pid rc
	mkfifo "$fifo"
	# Open our end first (read-write does not block), so the VM's open
	# of the other end does not wait for us.
	exec 9<>"$fifo"
	bg pid timeout "$GUEST_TIMEOUT" "$SARDINE" run --kernel "$GUEST_KERNEL" --initrd "$GUEST_INITRD" \
		--console virtio --cmdline "console=hvc0 quiet" <"$fifo" >"$log" 2>&1
	wait_for "$log" 'sardine:/# ' || { exec 9>&-; fail "no shell prompt on hvc0"; return 1; }
	printf 'echo MAGIC$((6*7)); echo TTY=$(tty)\n' >&9
	wait_for "$log" 'TTY=' 60 || { exec 9>&-; fail "the shell did not answer"; return 1; }
	printf 'poweroff -f\n' >&9
	wait "$pid"
	rc=$?
	exec 9>&-
	[ "$rc" = 0 ] || { fail "exit status $rc"; return 1; }
	expect_log "$log" '^MAGIC42' "command output missing" || return 1
	[ "$(guest_value "$log" TTY)" = /dev/hvc0 ] || fail "shell is on $(guest_value "$log" TTY)"
}
