#!/bin/sh
# Runs the cmocka unit test binaries given as arguments; prints one TAP-ish
# line per binary and exits non-zero when any failed.
fail=0
for t in "$@"; do
	if out=$("$t" 2>&1); then
		echo "ok - unit/$(basename "$t")"
	else
		echo "not ok - unit/$(basename "$t")"
		printf '%s\n' "$out" | sed 's/^/#   /'
		fail=1
	fi
done
exit $fail
