#!/bin/bash
# Runs one suite of sardine's tests: tests/run-suite.sh DIR [PATTERN...]
#   tests/host         needs no KVM that can run Linux (CLI, tiny guests)
#   tests/integration  real guests: needs hardware KVM, directly or in the box
# Each test_* function in DIR/[0-9]*.sh is one test; PATTERNs (extended
# regular expressions) select tests by file or function name.  Prints
# TAP-like lines and ends with "N passed, N failed"; exit status 1 when any
# failed.
set -u
[ $# -ge 1 ] || { echo "usage: $0 DIR [PATTERN...]" >&2; exit 2; }
tests=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
here=$(cd "$1" && pwd)
shift
repo=$(cd "$tests/.." && pwd)
export SARDINE=${SARDINE:-$repo/build/sardine}
export GUEST_DIR=${GUEST_DIR:-$repo/build/guest}
export TINY_DIR=${TINY_DIR:-$(dirname "$SARDINE")/tiny}
SESSION_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sardine-tests.XXXXXX")
export SESSION_DIR
# Wall-clock limit per test (seconds); a test over it fails.
export TEST_TIMEOUT=${TEST_TIMEOUT:-420}
chmod 711 "$SESSION_DIR" # tests that run as an ordinary user reach into it
trap 'rm -rf "$SESSION_DIR"' EXIT
. "$tests/integration/lib.sh"
. "$tests/box/lib.sh"

passed=0 failed=0 skipped=0 todo=0 n=0 second_try=0
failures=()

# tests/known-failures: "NAME REASON" lines for open bugs.  Such a test
# still runs; a failure is reported as TAP "# TODO" (neither passed nor
# failed), a pass as a plain pass.
known_failure() {
	sed -n "s|^$1 ||p" "$tests/known-failures" 2>/dev/null | head -1
}

if [ "$(basename "$here")" = integration ] && { [ ! -c /dev/kvm ] || [ -d /sys/module/kvm_pvm ]; }; then
	echo "not ok 1 - no KVM here that can run Linux (use tests/run-all.sh, which uses tests/box)"
	echo "0 passed, 1 failed"
	exit 1
fi

selected() {
	[ ${#PATTERNS[@]} -eq 0 ] && return 0
	local p
	for p in "${PATTERNS[@]}"; do
		[[ $1 =~ $p ]] && return 0
	done
	return 1
}

# run_test FILE FUNCTION: one test in a fresh bash under a wall-clock limit,
# so one that hangs (a guest wedged in the box) fails alone instead of
# stalling the suite; its EXIT trap still tears down.  Its output is also
# kept in $SESSION_DIR/last-output for box_triple_fault.
# A test that needs longer says so in its file: "# time limit: FUNCTION SECONDS".
run_test() {
	local limit
	: >"$SESSION_DIR/last-output" # appended to: by the test and the heartbeat
	limit=$(sed -n "s/^# time limit: $2 \([0-9]*\)$/\1/p" "$1" | head -1)
	[ -n "$limit" ] && [ "$limit" -gt "$TEST_TIMEOUT" ] || limit=$TEST_TIMEOUT
	timeout --kill-after=30 "$limit" bash -c '
		tests=$1 file=$2 fn=$3
		. "$tests/integration/lib.sh"
		T=$(mktemp -d "$SESSION_DIR/t.XXXXXX")
		BG_PIDS=()
		# Teardown on every path: stop what the test started.  A test
		# that failed or ran out of time leaves the last words of its
		# logs first (a guest stuck, or only slow?).
		trap '\''rc=$?; [ $rc = 0 ] || log_tails "$T"; for p in "${BG_PIDS[@]}"; do stop_pid "$p"; done; [ -n "$(type -t teardown)" ] && teardown; rm -rf "$T"'\'' EXIT
		. "$file"
		"$fn"
	' test "$tests" "$1" "$2" </dev/null >>"$SESSION_DIR/last-output" 2>&1 &
	# Shown as it comes; a file, not a pipe, so that a process the test
	# left behind (stuck in the kernel, say) cannot hold the suite.
	local pid=$! beat rc
	# A word every few minutes while a long test runs: tests/run-all.sh
	# takes a box that stays silent for long for a wedged one.
	(
		trap 'kill "$s" 2>/dev/null; exit 0' TERM
		t=0
		while :; do
			sleep 240 & s=$!
			wait "$s"
			echo "#   still running ($((t += 240)) s)" >>"$SESSION_DIR/last-output"
		done
	) &
	beat=$!
	tail -n +1 -f --pid="$pid" "$SESSION_DIR/last-output"
	wait "$pid"
	rc=$?
	kill "$beat" 2>/dev/null
	wait "$beat" 2>/dev/null
	return $rc
}

# Under tests/box only: did a guest of the last test triple-fault?  QEMU's
# TCG emulation of SVM (the box's CPU) now and then hands a guest a
# translation fault on its own kernel text right after an exit KVM handled
# in the kernel (tests/box/README.md); sardine is not involved in that
# path, and hardware KVM has no such fault.  Such a test runs once more.
box_triple_fault() {
	[ "${BOX:-}" = 1 ] && grep -q "triple fault: the guest CPU shut down" "$SESSION_DIR/last-output"
}

# Under tests/box, after a failure: how busy and how well the box is, for
# telling a sardine bug from a box that crawls (CI once saw one box run
# its guests ten times slower than usual for half an hour).
box_state() {
	echo "#   box: load $(cut -d' ' -f1-3 /proc/loadavg), up $(cut -d' ' -f1 /proc/uptime)s," \
		"$(awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo) MiB available," \
		"clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"
	# The RTC follows the host's clock: a box whose own clock runs off
	# (a TSC calibrated wrongly) shows a skew that grows.
	echo "#   box clock: system $(date +%s), RTC $(cat /sys/class/rtc/rtc0/since_epoch 2>/dev/null)"
	top -b -n 1 2>/dev/null | sed -n '3,4p' | sed 's/^/#   box top: /'
	# The processes that used the most CPU: one left spinning by an
	# earlier test would lead.
	ps -eo pid,ppid,stat,etimes,time,comm --sort=-time 2>/dev/null | head -n 8 | sed 's/^/#   box ps: /'
	dmesg 2>/dev/null | tail -n 8 | sed 's/^/#   box dmesg: /'
}

# Under tests/box only: how fast this box runs a guest, measured without
# sardine: QEMU/KVM boots the test guest, which sleeps 2 s (late timers
# show most there) and powers off: ~8 s in a box on a 2-core host, 49 s in
# one that crawled.  Beside it a CPU-only job, the box's timer interrupt
# rate (HZ, ~250/s) and its TSC calibrations.  Prints one line; fails when
# the boot took longer than SARDINE_BOX_PROBE_LIMIT seconds (30).  A box
# whose guests crawl (tests/box/README.md: CI twice saw one 10-20 times
# slower than usual, from a box kernel's TSC calibration) fails every test
# that has a time limit, whatever sardine does.
box_fit() {
	local t0 boot cpu loc0 loc1 log=$SESSION_DIR/probe.log
	t0=$(date +%s%N)
	# 120 s: a crawling box needs ~50; a QEMU that hangs must not hold
	# the suite for long.
	timeout 120 qemu-system-x86_64 -M q35 -enable-kvm -cpu host -m 256 -smp 1 -nodefaults \
		-no-user-config -display none -no-reboot -serial "file:$log" \
		-kernel "$GUEST_BZIMAGE" -initrd "$GUEST_INITRD" -append "console=ttyS0 quiet panic=-1 -- sleep 2" \
		</dev/null >/dev/null 2>&1
	grep -q "SARDINE-GUEST-EXIT 0" "$log" 2>/dev/null || boot=failed
	boot=${boot:-$((($(date +%s%N) - t0) / 1000000))}
	t0=$(date +%s%N)
	head -c 32M /dev/zero | sha256sum >/dev/null
	cpu=$((($(date +%s%N) - t0) / 1000000))
	loc0=$(awk '/^ *LOC:/ {print $2}' /proc/interrupts)
	sleep 2
	loc1=$(awk '/^ *LOC:/ {print $2}' /proc/interrupts)
	echo "# box fitness: a QEMU/KVM guest boot ${boot/%[0-9]/& ms}, sha256 of 32 MiB ${cpu} ms," \
		"local timer $(((loc1 - loc0) / 2))/s, up $(cut -d' ' -f1 /proc/uptime)s, $(box_tsc)"
	rm -f "$log"
	[ "$boot" != failed ] && [ "$boot" -le $((${SARDINE_BOX_PROBE_LIMIT:-30} * 1000)) ]
}

# The FAIL lines of the test just run, for the summary: a long run's log
# may be read only by its last lines (CI shows a tail).
fail_reasons() {
	sed -n 's/^#   FAIL: //p' "$SESSION_DIR/last-output" | head -n 3 | sed 's/^/: /' | tr -d '\n'
}

# In a box unfit for tests, the tests not yet run (the failed one too) go
# to a fresh box (tests/run-all.sh): this one ends without a summary.
box_unfit() {
	echo "# box unfit $1: the tests from ${2:-here on} go on in a fresh box"
	exit 3
}

PATTERNS=("$@")
if [ "${BOX:-}" = 1 ] && [ "${SARDINE_BOX_FIT:-1}" = 1 ]; then
	box_fit || box_unfit "at its start"
fi
for file in "$here"/[0-9]*.sh; do
	# Each file in a subshell so its helpers and variables stay its own.
	while read -r fn; do
		name="$(basename "$file" .sh)/${fn#test_}"
		selected "$name" || continue
		# Already run by an earlier attempt (see tests/run-all.sh).
		[[ " ${SUITE_SKIP:-} " == *" $name "* ]] && continue
		n=$((n + 1))
		start=$(date +%s)
		run_test "$file" "$fn"
		rc=$?
		retried=
		if [ $rc != 0 ] && [ $rc != 77 ] && box_triple_fault; then
			echo "#   a guest triple-faulted: the box's emulated SVM does that now and then (tests/box/README.md); running the test once more"
			run_test "$file" "$fn"
			rc=$?
			retried=" # passed on a second try after a guest triple fault in the box"
			[ $rc = 0 ] && second_try=$((second_try + 1))
		fi
		secs=$(( $(date +%s) - start ))
		if [ $rc != 0 ] && [ $rc != 77 ] && [ "${BOX:-}" = 1 ]; then
			box_state
			# Failed in a box that crawls?  Then the box, not sardine,
			# is to blame until a fresh box says otherwise: the test
			# runs again there, and fails for good if it fails again.
			[ "${SARDINE_BOX_FIT:-1}" = 1 ] && ! box_fit && box_unfit "after $name failed (${secs}s)" "$name"
		fi
		if [ $rc = 0 ]; then
			echo "ok $n - $name (${secs}s)$retried"
			passed=$((passed + 1))
		elif [ $rc = 77 ]; then
			# Not applicable on this host: neither passed nor failed.
			echo "ok $n - $name # SKIP"
			skipped=$((skipped + 1))
		elif [ -n "$(known_failure "$name")" ]; then
			echo "not ok $n - $name (${secs}s) # TODO known failure: $(known_failure "$name")"
			todo=$((todo + 1))
		else
			[ $rc = 124 ] || [ $rc = 137 ] && echo "#   FAIL: over its time limit" | tee -a "$SESSION_DIR/last-output"
			echo "not ok $n - $name (${secs}s)"
			failed=$((failed + 1))
			failures+=("$name$(fail_reasons)")
		fi
	done < <(grep -oE '^test_[A-Za-z0-9_]+' "$file")
done
[ ${#failures[@]} -gt 0 ] && printf '# failed: %s\n' "${failures[@]}"
[ $skipped -gt 0 ] && echo "# $skipped not applicable here (skipped, not counted as passed)"
[ $second_try -gt 0 ] && echo "# $second_try passed on a second try after a guest triple fault in the box (counted as passed)"
[ $todo -gt 0 ] && echo "# $todo known failures (TODO, see tests/known-failures; not counted as passed)"
echo "$passed passed, $failed failed"
[ $failed = 0 ]
