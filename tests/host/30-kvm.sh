# Opening KVM: clear errors and exit status 1 when it cannot be used.

test_no_dev_kvm() {
	local out rc
	out=$(unshare -m sh -c "mount -t tmpfs none /dev && exec '$SARDINE' run --kernel '$TINY_DIR/hello.elf'" 2>&1 </dev/null)
	rc=$?
	[ "$rc" = 1 ] || { fail "exit status $rc: $out"; return 1; }
	printf '%s\n' "$out" | grep -q '/dev/kvm does not exist' || fail "unclear: $out"
}

test_no_permission_on_dev_kvm() {
	local out rc
	if setpriv --reuid=65534 --regid=65534 --clear-groups test -w /dev/kvm; then
		echo "skip: an unprivileged user may open /dev/kvm here"
		return 77
	fi
	cp "$TINY_DIR/hello.elf" "$T/hello.elf"
	chmod 755 "$T"
	chmod 644 "$T/hello.elf"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$SARDINE" run \
		--kernel "$T/hello.elf" 2>&1 </dev/null)
	rc=$?
	[ "$rc" = 1 ] || { fail "exit status $rc: $out"; return 1; }
	printf '%s\n' "$out" | grep -q 'no permission to open /dev/kvm' || fail "unclear: $out"
}

test_kvm_pvm_refuses_linux_plainly() {
	local out rc
	if [ ! -d /sys/module/kvm_pvm ]; then
		echo "skip: this host's KVM is not kvm_pvm"
		return 77
	fi
	out=$(timeout 20 "$SARDINE" run --kernel "$GUEST_BZIMAGE" --initrd "$GUEST_INITRD" 2>&1 </dev/null)
	rc=$?
	[ "$rc" = 1 ] || { fail "exit status $rc: $out"; return 1; }
	printf '%s\n' "$out" | grep -q 'kvm_pvm' || fail "no explanation: $out"
}
