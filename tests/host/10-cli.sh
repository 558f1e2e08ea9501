# The command line: help, version, and a clear one-line error with exit
# status 2 for every bad input.  No KVM needed.

# expect_usage_error "what" ARGS...: exit 2, one line on stderr.
expect_usage_error() {
	local what=$1 out rc lines
	shift
	out=$("$SARDINE" "$@" 2>&1 >/dev/null </dev/null)
	rc=$?
	lines=$(printf '%s\n' "$out" | grep -c .)
	[ "$rc" = 2 ] || { fail "$what: exit status $rc, wanted 2 ($out)"; return 1; }
	[ "$lines" = 1 ] || { fail "$what: $lines lines of error, wanted 1: $out"; return 1; }
	printf '%s\n' "$out" | grep -q '^sardine: error: ' || fail "$what: not an error line: $out"
}

test_help_and_version() {
	"$SARDINE" --help | grep -q 'usage: sardine' || fail "--help" || return 1
	"$SARDINE" run --help | grep -q -- '--memory SIZE' || fail "run --help" || return 1
	"$SARDINE" --version | grep -qE '^sardine [0-9]+\.[0-9]+' || fail "--version"
}

test_bad_values_exit_2() {
	expect_usage_error "size junk" run --memory lots &&
	expect_usage_error "size suffix" run --memory 12X &&
	expect_usage_error "size too small" run --memory 1M &&
	expect_usage_error "zero cpus" run --cpus 0 &&
	expect_usage_error "too many cpus" run --cpus 1000 &&
	expect_usage_error "cpus junk" run --cpus two &&
	expect_usage_error "log level" run --log-level loud &&
	expect_usage_error "unknown option" run --frobnicate &&
	expect_usage_error "missing value" run --kernel &&
	expect_usage_error "stray argument" run extra &&
	expect_usage_error "unknown command" fly
}

test_bad_files_exit_2() {
	printf 'just some text, not a kernel at all, padded to be long enough....' > "$T/junk"
	expect_usage_error "missing kernel" run --kernel "$T/nope" &&
	expect_usage_error "kernel is a directory" run --kernel "$T" &&
	expect_usage_error "not a kernel" run --kernel "$T/junk" &&
	expect_usage_error "missing initrd" run --kernel "$GUEST_KERNEL" --initrd "$T/nope" &&
	expect_usage_error "command line too long" run --kernel "$GUEST_KERNEL" \
		--cmdline "$(head -c 3000 /dev/zero | tr '\0' a)"
}

test_unreadable_kernel_exit_2() {
	# As an ordinary user, a root-only file cannot be read.
	cp "$TINY_DIR/hello.elf" "$T/private.elf"
	chmod 600 "$T/private.elf"
	chmod 755 "$T"
	local out rc
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$SARDINE" run \
		--kernel "$T/private.elf" 2>&1 </dev/null)
	rc=$?
	[ "$rc" = 2 ] || { fail "exit $rc: $out"; return 1; }
	printf '%s\n' "$out" | grep -q 'Permission denied' || fail "no reason given: $out"
}
