# Memory density with real guests: free page reporting, the balloon driven
# through the API (inflate, deflate, an inflate larger than the guest can
# give), KSM between identical guests, and --balloon auto under a memory
# cgroup's pressure.  Guests run side by side to keep the boots few.

MiB=1048576

# rss_mib PID: the resident memory of sardine started as PID (timeout's
# PID, see guest_start), in MiB.
sardine_pid() {
	ps -o pid= --ppid "$1" | tr -d ' ' | head -1
}

rss_mib() {
	awk '/^Rss:/ {print int($2 / 1024)}' "/proc/$(sardine_pid "$1")/smaps_rollup" 2>/dev/null
}

# balloon_actual_mib SOCK: what the guest has put in its balloon.
balloon_actual_mib() {
	api "$1" GET vm.balloon-stats >/dev/null && json 'j["actual_bytes"] // 1048576'
}

# wait_until SECONDS COMMAND...: until COMMAND succeeds (polled each second).
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $deadline ]; do
		"$@" && return 0
		sleep 1
	done
	return 1
}

# The guest prints "AVAIL kB" every second (its MemAvailable) for N s.
avail_loop() {
	echo "for i in \$(seq $1); do echo AVAIL \$(awk '/MemAvailable/ {print \$2}' /proc/meminfo); sleep 1; done"
}

last_avail_mib() {
	grep '^AVAIL ' "$1" | tail -1 | tr -d '\r' | awk '{print int($2 / 1024)}'
}

# A guest that fills 700 MiB of tmpfs, frees it, then reports MemAvailable.
fill_free_script() {
	cat > "$T/fill.sh" <<SCRIPT
mkdir -p /t && mount -t tmpfs -o size=900m none /t
echo IDLE
sleep 5
echo FILLING
dd if=/dev/zero of=/t/x bs=1M count=700 2>/dev/null
echo FILLED
sleep 8
rm /t/x
echo FREED
$(avail_loop "${1:-60}")
SCRIPT
	script_initrd "$GUEST_INITRD" "$T/fill.sh"
}

# One of the long ones: ~2x its one-CPU-box time, for a loaded host.
# time limit: test_free_page_reporting_and_balloon_by_api 600
test_free_page_reporting_and_balloon_by_api() {
	local initrd a b idle_a idle_b peak_a peak_b rss avail0 sock=$T/b.sock
	local GUEST_TIMEOUT=560 # the guests live through the whole test
	initrd=$(fill_free_script 900)
	guest_start "$T/a.log" --initrd "$initrd" --memory 1G --balloon on
	a=$GUEST_PID
	guest_start "$T/b.log" --initrd "$initrd" --memory 1G --api-socket "$sock" \
		--balloon on,free_page_reporting=off
	b=$GUEST_PID
	# Idle sizes while both guests sleep before filling (the host's polls
	# are slow in the box: sampling at FILLING could catch the fill).
	wait_for "$T/a.log" IDLE || return 1
	idle_a=$(rss_mib "$a")
	wait_for "$T/b.log" IDLE || return 1
	idle_b=$(rss_mib "$b")
	# The peaks: the most RSS seen until each guest says it freed the
	# fill (one sample could come late, after reporting began).
	peak_a=0 peak_b=0
	local deadline=$((SECONDS + GUEST_TIMEOUT)) r
	until grep -q FREED "$T/a.log" && grep -q FREED "$T/b.log"; do
		[ $SECONDS -lt $deadline ] || { fail "the guests did not fill and free"; return 1; }
		r=$(rss_mib "$a") && [ "${r:-0}" -gt $peak_a ] && peak_a=$r
		r=$(rss_mib "$b") && [ "${r:-0}" -gt $peak_b ] && peak_b=$r
		sleep 0.5
	done
	note "RSS MiB idle/filled: reporting $idle_a/$peak_a, not reporting $idle_b/$peak_b"
	[ "$peak_a" -ge $((idle_a + 600)) ] || fail "filling 700 MiB did not show in RSS" || return 1

	# Reporting: back near idle within seconds (90 s: a loaded box is slow).
	wait_until 90 eval '[ "$(rss_mib "$a")" -le $((idle_a + 100)) ]' ||
		fail "RSS with free page reporting stays at $(rss_mib "$a") MiB (idle $idle_a)" || return 1
	note "with reporting: RSS $(rss_mib "$a") MiB after the guest freed 700 MiB"
	rss=$(rss_mib "$b")
	[ "$rss" -ge $((peak_b - 100)) ] ||
		fail "without reporting RSS fell to $rss MiB: the test cannot tell" || return 1

	# Inflate 400 MiB through the API: the guest's available memory and
	# the VM's RSS both fall by about that much.
	wait_for "$T/b.log" '^AVAIL ' || return 1
	avail0=$(last_avail_mib "$T/b.log")
	expect_api 204 "$sock" PUT vm.resize '{"desired_balloon": 419430400}' || return 1
	wait_until 180 eval '[ "$(balloon_actual_mib "$sock")" -ge 400 ]' ||
		fail "balloon at $(balloon_actual_mib "$sock") MiB, asked 400" || return 1
	wait_until 10 eval '[ "$(last_avail_mib "$T/b.log")" -le $((avail0 - 300)) ]' ||
		fail "MemAvailable $(last_avail_mib "$T/b.log") MiB, was $avail0 before a 400 MiB inflate" || return 1
	[ "$(rss_mib "$b")" -le $((rss - 300)) ] ||
		fail "RSS $(rss_mib "$b") MiB after a 400 MiB inflate (was $rss)" || return 1
	note "inflate 400 MiB: MemAvailable $avail0 -> $(last_avail_mib "$T/b.log") MiB, RSS $rss -> $(rss_mib "$b") MiB"

	# Deflate: the guest gets its memory back.
	expect_api 204 "$sock" PUT vm.resize '{"desired_balloon": 0}' || return 1
	wait_until 180 eval '[ "$(balloon_actual_mib "$sock")" -eq 0 ]' ||
		fail "balloon still $(balloon_actual_mib "$sock") MiB after deflate" || return 1
	wait_until 10 eval '[ "$(last_avail_mib "$T/b.log")" -ge $((avail0 - 50)) ]' ||
		fail "MemAvailable $(last_avail_mib "$T/b.log") MiB after deflate, was $avail0" || return 1

	# More than the guest can give (1008 of its 1024 MiB): it gives what
	# it can, keeps running (deflate_on_oom), and says so every second.
	expect_api 204 "$sock" PUT vm.resize '{"desired_balloon": 1056964608}' || return 1
	sleep 15
	local lines
	lines=$(grep -c '^AVAIL ' "$T/b.log")
	wait_until 30 eval '[ "$(grep -c "^AVAIL " "$T/b.log")" -ge $((lines + 5)) ]' ||
		fail "the guest stopped reporting after an oversized inflate" || return 1
	note "oversized inflate: balloon $(balloon_actual_mib "$sock") MiB, guest alive"
	grep -q 'Out of memory: Killed' "$T/b.log" && fail "the guest's OOM killer ran" && return 1
	kill -0 "$a" && kill -0 "$b" || fail "a VM died"
}

# Two identical guests share pages through KSM; a third with --no-merge
# does not.  KSM is switched on (and fast) for the test, then restored.
ksm_restore() {
	[ -n "${KSM_SAVED:-}" ] || return 0
	set -- $KSM_SAVED
	echo "$2" > /sys/kernel/mm/ksm/pages_to_scan
	echo "$3" > /sys/kernel/mm/ksm/sleep_millisecs
	echo "$1" > /sys/kernel/mm/ksm/run
}

teardown() {
	ksm_restore
	[ -n "${CGROUP:-}" ] && rmdir "$CGROUP" 2>/dev/null
	return 0
}

ksm_pages() {
	cat "/proc/$(sardine_pid "$1")/ksm_merging_pages" 2>/dev/null || echo 0
}

pss_mib() {
	awk '/^Pss:/ {print int($2 / 1024)}' "/proc/$(sardine_pid "$1")/smaps_rollup" 2>/dev/null
}

# One of the long ones: ~2x its one-CPU-box time, for a loaded host.
# time limit: test_ksm_merges_identical_guests 600
test_ksm_merges_identical_guests() {
	local k=/sys/kernel/mm/ksm p1 p2 p3 n1 n2 n3
	[ -w $k/run ] || { note "no KSM in this kernel"; return 1; }
	KSM_SAVED="$(cat $k/run) $(cat $k/pages_to_scan) $(cat $k/sleep_millisecs)"
	echo 1000 > $k/pages_to_scan && echo 20 > $k/sleep_millisecs && echo 1 > $k/run || return 1
	guest_start "$T/1.log" --memory 256M -- sleep 150
	p1=$GUEST_PID
	guest_start "$T/2.log" --memory 256M -- sleep 150
	p2=$GUEST_PID
	guest_start "$T/3.log" --memory 256M --no-merge -- sleep 150
	p3=$GUEST_PID
	wait_for "$T/1.log" SARDINE-GUEST-READY && wait_for "$T/2.log" SARDINE-GUEST-READY &&
		wait_for "$T/3.log" SARDINE-GUEST-READY || return 1
	wait_until 90 eval '[ "$(ksm_pages "$p1")" -ge 2000 ] && [ "$(ksm_pages "$p2")" -ge 2000 ]' ||
		fail "merged pages: $(ksm_pages "$p1") and $(ksm_pages "$p2")" || return 1
	n1=$(ksm_pages "$p1") n2=$(ksm_pages "$p2") n3=$(ksm_pages "$p3")
	note "KSM merged pages: $n1, $n2; --no-merge: $n3; PSS MiB $(pss_mib "$p1"), $(pss_mib "$p2"), $(pss_mib "$p3")"
	[ "$n3" = 0 ] || fail "--no-merge VM has $n3 merged pages" || return 1
	# Shared pages count once in PSS: the merged guests cost the host less.
	[ $(( $(pss_mib "$p1") + $(pss_mib "$p2") )) -lt $((2 * $(pss_mib "$p3"))) ] ||
		fail "merged guests use no less host memory than --no-merge"
}

# What the four VMs of the auto test were doing, for a failure's report.
auto_diag() {
	local i
	for i in 1 2 3 4; do
		note "VM $i: $(kill -0 "${pids[$((i - 1))]}" 2>/dev/null && echo alive || echo dead);" \
			"balloon-stats: $(api "${socks[$((i - 1))]}" GET vm.balloon-stats) $(head -c 300 "$T/body" 2>/dev/null)"
		tail -n 3 "$T/auto$i.log" | sed 's/^/#     | /' >&2
	done
	note "cgroup: $(tr '\n' ' ' < "$CGROUP/memory.events")"
}

# Four VMs with --balloon auto in a memory cgroup; a bounded memory hog in
# the same cgroup brings pressure.  The VMs give memory back, the guests
# keep running; once the hog is gone the balloons shrink again.
# time limit: test_balloon_auto_under_cgroup_pressure 700
test_balloon_auto_under_cgroup_pressure() {
	local cg=/sys/fs/cgroup i pids=() socks=() hog peak=() actual lim=1200
	# Four boots, a minute of pressure and the way back: the guests must
	# outlive all of it in a one-CPU box (the teardown stops them).
	local GUEST_TIMEOUT=900
	grep -qw memory $cg/cgroup.controllers 2>/dev/null || { note "no memory cgroup"; return 1; }
	grep -qw memory $cg/cgroup.subtree_control || echo +memory > $cg/cgroup.subtree_control || return 1
	CGROUP=$cg/sardine-test-$BASHPID
	mkdir "$CGROUP" && echo $((lim * MiB)) > "$CGROUP/memory.max" || return 1
	echo 0 > "$CGROUP/memory.swap.max" 2>/dev/null
	# Everything this test starts from now on runs in the cgroup.
	echo "$BASHPID" > "$CGROUP/cgroup.procs" || return 1
	for i in 1 2 3 4; do
		socks+=("$T/auto$i.sock")
		guest_start "$T/auto$i.log" --memory 512M --api-socket "$T/auto$i.sock" \
			--balloon auto -- "$(avail_loop 900)"
		pids+=("$GUEST_PID")
	done
	echo "$BASHPID" > $cg/cgroup.procs # the test shell itself leaves again
	for i in 1 2 3 4; do
		wait_for "$T/auto$i.log" '^AVAIL ' || return 1
	done
	note "cgroup: $(( $(cat "$CGROUP/memory.current") / MiB )) of $lim MiB used by four idle VMs"
	# The hog takes what is left but ~60 MiB, and holds it for 60 s.
	local want=$(( lim - $(cat "$CGROUP/memory.current") / MiB - 60 ))
	bg hog sh -c "echo \$\$ > $CGROUP/cgroup.procs && exec python3 -c '
import time
b = [bytearray(16 << 20) for _ in range($want // 16)]
time.sleep(60)'"
	for i in 1 2 3 4; do
		wait_until 90 eval '[ "$(balloon_actual_mib "${socks[$((i - 1))]}")" -ge 32 ]' ||
			fail "VM $i gave nothing back under pressure ($(balloon_actual_mib "${socks[$((i - 1))]}") MiB)" ||
			return 1
	done
	for i in 1 2 3 4; do
		peak+=("$(balloon_actual_mib "${socks[$((i - 1))]}")")
	done
	note "under pressure: balloons ${peak[*]} MiB; cgroup $(( $(cat "$CGROUP/memory.current") / MiB )) MiB; PSI $(cut -d' ' -f2 "$CGROUP/memory.pressure" | head -1)"
	wait "$hog" 2>/dev/null
	kill -0 "$hog" 2>/dev/null && { stop_pid "$hog"; }
	# Pressure gone: every balloon shrinks to half its size or less.
	for i in 1 2 3 4; do
		kill -0 "${pids[$((i - 1))]}" 2>/dev/null ||
			{ auto_diag; fail "VM $i died (cgroup events: $(tr '\n' ' ' < "$CGROUP/memory.events"))"; return 1; }
		wait_until 120 eval '[ "$(balloon_actual_mib "${socks[$((i - 1))]}")" -le $((peak[i - 1] / 2)) ]' ||
			{ auto_diag; fail "VM $i balloon stays at $(balloon_actual_mib "${socks[$((i - 1))]}") MiB without pressure"; return 1; }
	done
	for i in 1 2 3 4; do
		kill -0 "${pids[$((i - 1))]}" || fail "VM $i died" || return 1
		grep -q 'Out of memory' "$T/auto$i.log" && fail "VM $i: the guest's OOM killer ran" && return 1
	done
	note "after: balloons $(for s in "${socks[@]}"; do balloon_actual_mib "$s"; done | tr '\n' ' ')MiB; cgroup OOM kills: $(awk '/oom_kill / {print $2}' "$CGROUP/memory.events")"
	[ "$(awk '/^oom_kill / {print $2}' "$CGROUP/memory.events")" = 0 ] || fail "the cgroup's OOM killer ran"
}
