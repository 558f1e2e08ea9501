# --share on the command line: a bad share is a usage error (exit 2, one
# line), found before any VM is made.  No KVM needed.

expect_share_error() {
	local what=$1 out rc
	shift
	out=$("$SARDINE" run "$@" 2>&1 >/dev/null </dev/null)
	rc=$?
	[ "$rc" = 2 ] || { fail "$what: exit status $rc, wanted 2 ($out)"; return 1; }
	[ "$(printf '%s\n' "$out" | grep -c .)" = 1 ] || { fail "$what: not one line: $out"; return 1; }
	printf '%s\n' "$out" | grep -q '^sardine: error: --share' || fail "$what: $out"
}

test_bad_shares_exit_2() {
	touch "$T/file"
	expect_share_error "missing directory" --share "$T/nope:t" &&
	expect_share_error "not a directory" --share "$T/file:t" &&
	expect_share_error "no tag" --share "$T" &&
	expect_share_error "empty tag" --share "$T:" &&
	expect_share_error "tag too long" --share "$T:$(head -c 65 /dev/zero | tr '\0' a)" &&
	expect_share_error "tag twice" --share "$T:a" --share "$T:a" &&
	expect_share_error "bad security" --share "$T:a,security=none" &&
	expect_share_error "unknown option" --share "$T:a,rw"
}
