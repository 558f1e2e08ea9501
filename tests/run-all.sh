#!/bin/bash
# The whole test suite: tests/run-all.sh BUILD_DIR  (make test runs it)
#   1. unit tests (cmocka) on this host, and each fuzz target (make fuzz)
#      over its committed inputs in tests/fuzz/corpus;
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
		echo "# failed: $2 ended without a summary" >>"$log.failed"
		failed=$((failed + 1))
		return
	fi
	grep '^# failed: ' "$1" >>"$log.failed"
	passed=$((passed + ${summary%% *}))
	failed=$((failed + $(echo "$summary" | sed 's/.* \([0-9]*\) failed/\1/')))
}

# One box session running the integration tests matching $1 (less the
# tests named in $2), its output to $3.  A watchdog ends a box whose output
# has stalled for longer than one test may take: a box kernel wedged under
# TCG.
box_attempt() {
	local pats=$1 skip=$2 out=$3 fit=$4 pid last=0 size idle=0 i tick=0
	rm -f "$out.mon" "$out.jit"
	SARDINE_BOX_MONITOR=$out.mon setsid "$tests/box/box" --cpus "${BOX_CPUS:-1}" --mem "${BOX_MEM:-7G}" \
		--timeout "${BOX_TIMEOUT:-3000}" --env SARDINE_BOX_FIT="$fit" \
		--env SARDINE="$SARDINE" --env TINY_DIR="$TINY_DIR" --env GUEST_DIR="$GUEST_DIR" \
		--env SARDINE_TESTS="$pats" --env SUITE_SKIP="$skip" \
		-- "$tests/run-suite.sh $tests/integration \${SARDINE_TESTS:-}" >"$out" 2>&1 </dev/null &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 10
		tick=$((tick + 10))
		[ $tick = 60 ] || [ $((tick % 300)) = 0 ] && jit_sample "$out.mon" >>"$out.jit"
		size=$(stat -c %s "$out")
		if [ "$size" != "$last" ]; then
			last=$size idle=0
		elif [ $((idle += 10)) -ge "${BOX_IDLE_LIMIT:-600}" ]; then
			echo "# no output from the box for ${idle}s: stopping it" >>"$out"
			# Where its CPU is, twice, for the record: halted or spinning.
			for i in 1 2; do
				"$tests/box/monitor" "$out.mon" "info registers" "info lapic" 2>&1 |
					grep -E 'RIP=|HLT=|^(LVTT|Timer|ISR|IRR)' | sed 's/^/# box cpu: /' >>"$out"
				sleep 3
			done
			kill -TERM -- "-$pid" 2>/dev/null
			sleep 10
			kill -KILL -- "-$pid" 2>/dev/null
		fi
	done
	wait "$pid" 2>/dev/null
	# A box that failed tests or went silent: how its emulator fared.
	if grep -qE '^not ok|^# no output|^# box unfit' "$out" && [ -s "$out.jit" ]; then
		sed 's/^/# box jit: /' "$out.jit" >>"$out"
	fi
	rm -f "$out.mon" "$out.jit"
	sleep 1
}

# One line on the state of a box's TCG translator (QEMU's "info jit"), at
# a box's first minute and every 5 minutes after: a box that crawls because
# the emulator keeps flushing or invalidating translated code shows it here.
jit_sample() {
	"$tests/box/monitor" "$1" "info jit" 2>/dev/null | awk -v t="$SECONDS" '
		/^gen code size/ { split($4, a, "/"); code = int(a[1] / 1048576) }
		/^TB count/ { tbs = $3 }
		/^TB flush count/ { fl = $4 }
		/^TB invalidate count/ { inv = $4 }
		/^TLB full flushes/ { tlb = $4 }
		END { if (tbs != "") printf "%ds: code %d MiB, %s TBs, %s TB flushes, %s TB invalidations, %s full TLB flushes\n", t, code, tbs, fl, inv, tlb }'
}

# The integration tests matching $1 in the box; their result lines go to
# $2, a summary "N passed, N failed" ends it.  The box's own kernel,
# emulated by TCG with nested SVM, now and then crashes under load: TCG
# delivers an IPI in the window right after VMRUN returns, before KVM has
# restored the host's GS base, and the box kernel oopses (seen as "stack
# guard page was hit" in __svm_vcpu_run).  That is the emulator's fault,
# not sardine's or its guest's.  Then the tests not yet run go on in a
# fresh box, the one that was running included; one that was running
# during two crashes counts as failed.  Six boxes at most.
# A box that finds itself unfit (tests/run-suite.sh box_fit: its guests
# crawl) ends the same way: at its start, the tests go to a fresh box (after
# two such boxes they run in the next one whatever its speed); after a
# failed test, that test runs again in a fresh box, and counts as failed if
# it fails there too.
box_suite() {
	local pats=$1 out=$2 log=$2.box all=$2.all attempt skip= name crashed= retried= p f fit=1 unfit=0
	: >"$all"
	for attempt in 1 2 3 4 5 6; do
		box_attempt "$pats" "$skip" "$log" "$fit"
		cat "$log" >>"$all"
		grep -qE '^[0-9]+ passed, [0-9]+ failed$' "$log" && break
		if grep -q '^# box unfit at its start' "$log"; then
			[ $((unfit += 1)) -ge 2 ] && fit=0
			continue
		fi
		name=$(next_test "$all" "$pats")
		if grep -q '^# box unfit after' "$log"; then
			retried="$retried $name"
		else
			echo "# box $attempt died during ${name:-?}; its last words:" >>"$all"
			grep -vE '^(not )?ok ' "$log" | grep -E 'BUG|panic|RIP|timed out|no output|box cpu' | tail -n 8 |
				sed 's/^/#   box| /' >>"$all"
		fi
		crashed="$crashed $name"
		if [ -n "$name" ] && [ "$(tr ' ' '\n' <<<"$crashed" | grep -cxF -- "$name")" -ge 2 ]; then
			echo "not ok 0 - $name (failed, or its box died, in two boxes)" >>"$all"
			echo "# failed: $name: failed, or its box died, in two boxes" >>"$all"
		fi
		skip=$(sed -nE 's/^(not )?ok [0-9]+ - ([^ ]+).*/\2/p' "$all" | tr '\n' ' ')
	done
	# A test that failed in an unfit box and passed in a fresh one says so.
	for name in $retried; do
		sed -i -E "s|^(ok [0-9]+ - $name \(.*)$|\1 # passed in a fresh box after failing in one unfit for tests|" "$all"
	done
	# Count every test's result line, across boxes.
	p=$(($(grep -cE '^ok [0-9]+ - ' "$all") - $(grep -cE '^ok [0-9]+ - .*# SKIP' "$all")))
	f=$(grep -E '^not ok [0-9]+ - ' "$all" | grep -cv '# TODO')
	if ! grep -qE '^[0-9]+ passed, [0-9]+ failed$' "$log"; then
		echo "not ok - real-guest tests ($pats) did not finish in six boxes" >>"$all"
		echo "# failed: real-guest tests ($pats) did not finish in six boxes" >>"$all"
		f=$((f + 1))
	fi
	grep -vE '^[0-9]+ passed, [0-9]+ failed$' "$all" >"$out"
	echo "$p passed, $f failed" >>"$out"
	rm -f "$all" "$log"
}

# The first integration test matching $2 without a result line in $1.
next_test() {
	local file fn name p hit
	for file in "$tests"/integration/[0-9]*.sh; do
		for fn in $(grep -oE '^test_[A-Za-z0-9_]+' "$file"); do
			name="$(basename "$file" .sh)/${fn#test_}"
			hit=0
			for p in $2; do [[ $name =~ $p ]] && hit=1; done
			[ $hit = 1 ] || continue
			grep -qE "^(not )?ok [0-9]+ - $name( |$)" "$1" || { echo "$name"; return; }
		done
	done
}

# The integration tests in boxes of one CPU each, side by side, one box
# per CPU of this host: on two emulated CPUs the box's SVM emulation
# crashes its kernel and triple-faults its guests far more often than on
# one (tests/box/README.md), because the cross-CPU interrupts that trigger
# it go away.  Each test file goes to the box with the least work so far,
# by the seconds it took in one-CPU boxes (files not listed count 100).
BOX_WEIGHTS="40-net:420 70-density:420 30-blk:360 50-9p:330 60-api:130 20-lifecycle:100 10-boot:85 25-console:20"
boxes() {
	local n=${BOX_COUNT:-$(nproc)} order=() pats=() load=() pids=() f w i best
	[ "$n" -ge 1 ] || n=1
	for f in $BOX_WEIGHTS; do [ -f "$tests/integration/${f%%:*}.sh" ] && order+=("$f"); done
	for f in "$tests"/integration/[0-9]*.sh; do
		f=$(basename "$f" .sh)
		[[ " $BOX_WEIGHTS" == *" $f:"* ]] || order+=("$f:100")
	done
	[ "$n" -gt ${#order[@]} ] && n=${#order[@]}
	for ((i = 0; i < n; i++)); do load[$i]=0 pats[$i]=; done
	for f in "${order[@]}"; do
		best=0
		for ((i = 1; i < n; i++)); do [ "${load[$i]}" -lt "${load[$best]}" ] && best=$i; done
		w=${f#*:}
		load[$best]=$((load[best] + w))
		pats[$best]="${pats[$best]}${pats[$best]:+ }^${f%%:*}/"
	done
	if [ -n "${SARDINE_TESTS:-}" ]; then # a chosen few: one box
		n=1 pats=("$SARDINE_TESTS")
	fi
	# Built (or checked) once here, not by each box at the same time.
	"$tests/box/build.sh" -q "$repo/build/box" || { echo "not ok - cannot build the box"; failed=$((failed + 1)); return; }
	for ((i = 0; i < n; i++)); do
		echo "# box $((i + 1)) of $n: ${pats[$i]}"
		box_suite "${pats[$i]}" "$log.b$i" &
		pids+=($!)
	done
	for ((i = 0; i < n; i++)); do
		wait "${pids[$i]}"
		cat "$log.b$i"
		tally "$log.b$i" "real-guest tests, box $((i + 1))"
		rm -f "$log.b$i"
	done
}

# The host's CPU time since $1 (a copy of /proc/stat), per CPU: busy and
# stolen by the hypervisor under this machine.  For telling a slow run
# that was sardine's doing from one on a machine whose CPU was taken.
host_cpu_report() {
	awk 'NR == FNR { if ($1 ~ /^cpu[0-9]/) for (i = 2; i <= 9; i++) t0[$1, i] = $i; next }
	     $1 ~ /^cpu[0-9]/ {
		tot = 0; for (i = 2; i <= 9; i++) { d[i] = $i - t0[$1, i]; tot += d[i] }
		if (tot <= 0) next
		printf "# host %s: %.0f%% busy, %.0f%% stolen\n", $1,
			100 * (d[2] + d[3] + d[4] + d[7] + d[8]) / tot, 100 * d[9] / tot
	     }' "$1" /proc/stat
}

log=$(mktemp)
trap 'rm -f "$log" "$log.stat" "$log.failed"' EXIT
: >"$log.failed"
cp /proc/stat "$log.stat"

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
		echo "# failed: unit/$(basename "$t")" >>"$log.failed"
		sed 's/^/#   /' "$log.u"
		f=$((f + 1))
	fi
done
rm -f "$log.u"
passed=$((passed + n)) failed=$((failed + f))

# Each libFuzzer target once over its committed inputs (the seeds and every
# input a campaign found a bug with): a fixed bug that comes back fails here.
echo "# fuzz targets on their committed inputs"
n=0 f=0
for t in "$repo"/build/fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	if "$t" -runs=0 -artifact_prefix="$log.art-" "$tests/fuzz/corpus/${name#fuzz_}" \
		>"$log.u" 2>&1; then
		echo "ok - fuzz/$name ($(ls "$tests/fuzz/corpus/${name#fuzz_}" | wc -l) inputs)"
		n=$((n + 1))
	else
		echo "not ok - fuzz/$name"
		echo "# failed: fuzz/$name: $(grep -m1 -E 'ERROR|Assertion|runtime error' "$log.u")" >>"$log.failed"
		grep -E 'ERROR|Assertion|runtime error|SUMMARY|Test unit written' "$log.u" | sed 's/^/#   /'
		f=$((f + 1))
	fi
done
rm -f "$log.u" "$log".art-*
passed=$((passed + n)) failed=$((failed + f))

echo "# host tests"
"$tests/run-suite.sh" "$tests/host" | tee "$log"
tally "$log" "host tests"

echo "# real-guest tests"
if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -c /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then
	"$tests/run-suite.sh" "$tests/integration" ${SARDINE_TESTS:-} | tee "$log"
	tally "$log" "real-guest tests"
else
	echo "# this host's KVM cannot run Linux guests: running them in tests/box"
	boxes
fi

host_cpu_report "$log.stat"
# Every failure once more, with its reason, just above the summary: a long
# run's log may be read only by its last lines.
sed 's/^# failed: /# FAILED: /' "$log.failed"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
