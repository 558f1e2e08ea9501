#!/bin/bash
# The whole test suite: tests/run-all.sh BUILD_DIR  (make test runs it)
#   1. unit tests (cmocka) on this host;
#   2. tests/host: CLI and tiny guests, on this host;
#   3. tests/integration: real Linux guests on hardware KVM, directly when
#      this host has it, else inside tests/box (QEMU/TCG with nested SVM).
# Ends with one line "N passed, N failed" summing all three.  It fails
# loudly, never skips, when no KVM that can run Linux is reachable.
set -u
build=$(cd "${1:-build}" && pwd)
tests=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$tests/.." && pwd)
export SARDINE=$build/sardine
export TINY_DIR=$build/tiny
export GUEST_DIR=$repo/build/guest
passed=0 failed=0

# Adds the counts of a suite's final "N passed, N failed" line; a suite
# that died without one counts as one failure.
tally() {
	local summary
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -1)
	if [ -z "$summary" ]; then
		echo "not ok - $2 ended without a summary"
		failed=$((failed + 1))
		return
	fi
	passed=$((passed + ${summary%% *}))
	failed=$((failed + $(echo "$summary" | sed 's/.* \([0-9]*\) failed/\1/')))
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "# unit tests"
n=0 f=0
for t in "$build"/tests/unit/test_*; do
	# Only the test programs: the build also leaves .d/.o files here.
	[[ $t == *.[do] ]] && continue
	[ -x "$t" ] || continue
	if "$t" >"$log.u" 2>&1; then
		echo "ok - unit/$(basename "$t")"
		n=$((n + 1))
	else
		echo "not ok - unit/$(basename "$t")"
		sed 's/^/#   /' "$log.u"
		f=$((f + 1))
	fi
done
rm -f "$log.u"
passed=$((passed + n)) failed=$((failed + f))

echo "# host tests"
"$tests/run-suite.sh" "$tests/host" | tee "$log"
tally "$log" "host tests"

echo "# real-guest tests"
if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -c /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then
	"$tests/run-suite.sh" "$tests/integration" ${SARDINE_TESTS:-} | tee "$log"
else
	echo "# this host's KVM cannot run Linux guests: running them in tests/box"
	"$tests/box/box" --mem "${BOX_MEM:-8G}" --timeout "${BOX_TIMEOUT:-3000}" \
		--env SARDINE="$SARDINE" --env TINY_DIR="$TINY_DIR" --env GUEST_DIR="$GUEST_DIR" \
		--env SARDINE_TESTS="${SARDINE_TESTS:-}" \
		-- "$tests/run-suite.sh $tests/integration \${SARDINE_TESTS:-}" | tee "$log"
fi
tally "$log" "real-guest tests"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
