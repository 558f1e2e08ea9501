# The REST API on a Unix socket, socket safety and the VM-management
# commands, with tiny guests (tests/tiny/counter.elf prints "TICK n" every
# ~100 ms and powers off on the ACPI power button): any KVM will do.
# Sockets go to $T/run (SARDINE_RUNTIME_DIR), never to /run/sardine.

COUNTER=$TINY_DIR/counter.elf
HELLO=$TINY_DIR/hello.elf

# api, expect_api and json come from tests/integration/lib.sh.

wait_socket() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	fail "no socket $1"
}

# serve_start LOG [serve options]: SERVE_PID.
serve_start() {
	local log=$1
	shift
	: >"$log"
	setsid "$SARDINE" serve "$@" >"$log" 2>&1 </dev/null &
	SERVE_PID=$!
	BG_PIDS+=("$SERVE_PID")
}

# run_start LOG [run options]: RUN_PID; a tiny guest by default.
run_start() {
	local log=$1
	shift
	: >"$log"
	setsid "$SARDINE" run "$@" >"$log" 2>&1 </dev/null &
	RUN_PID=$!
	BG_PIDS+=("$RUN_PID")
}

ticks() {
	grep -c '^TICK' "$1"
}

test_serve_flow_with_curl() {
	export SARDINE_RUNTIME_DIR=$T/run
	local log=$T/serve.log sock=$T/run/flow.sock rc a b
	local cfg='{"payload": {"kernel": "'$COUNTER'"}, "memory": {"size": 67108864},
		    "serial": {"mode": "Tty"}, "console": {"mode": "Off"}}'
	serve_start "$log" --name flow
	wait_socket "$sock" || return 1
	expect_api 200 "$sock" GET vmm.ping || return 1
	[ "$(json 'j["pid"]')" = "$SERVE_PID" ] || fail "ping pid $(cat "$T/body")" || return 1
	expect_api 404 "$sock" GET vm.info || return 1
	expect_api 404 "$sock" PUT vm.boot || return 1
	expect_api 204 "$sock" PUT vm.create "$cfg" || return 1
	expect_api 409 "$sock" PUT vm.create "$cfg" || return 1
	expect_api 200 "$sock" GET vm.info || return 1
	[ "$(json 'j["state"]')" = Created ] || fail "state $(json 'j["state"]')" || return 1
	# The API is served by the control thread: when the first boot confines
	# that thread, it is the only one, so the Landlock domain binds all.
	[ "$(ls /proc/"$SERVE_PID"/task | wc -l)" = 1 ] ||
		fail "threads before vm.boot: $(cat /proc/"$SERVE_PID"/task/*/comm | paste -sd' ')" || return 1
	expect_api 405 "$sock" PUT vm.pause || return 1
	expect_api 204 "$sock" PUT vm.boot || return 1
	wait_for "$log" 'TICK 00000003' 20 || { fail "the guest does not run"; return 1; }
	expect_api 200 "$sock" GET vm.info || return 1
	[ "$(json 'j["state"]')" = Running ] || fail "state $(json 'j["state"]')" || return 1
	[ "$(json 'j["name"]')" = flow ] || fail "name $(json 'j["name"]')" || return 1
	expect_api 204 "$sock" PUT vm.shutdown || return 1
	expect_api 200 "$sock" GET vm.info || return 1
	[ "$(json 'j["state"]')" = Shutdown ] || fail "state after vm.shutdown" || return 1
	a=$(ticks "$log")
	sleep 0.5
	[ "$(ticks "$log")" = "$a" ] || fail "ticks after vm.shutdown" || return 1
	expect_api 204 "$sock" PUT vm.boot || return 1
	wait_count "$log" TINY-COUNTER 2 20 || { fail "no second boot"; return 1; }
	expect_api 204 "$sock" PUT vm.reboot || return 1
	wait_count "$log" TINY-COUNTER 3 20 || { fail "vm.reboot did not boot again"; return 1; }
	expect_api 200 "$sock" GET vm.info || return 1
	[ "$(json 'j["sandbox"]["landlock"]')" = "$(landlock_expected)" ] ||
		fail "landlock $(json 'j["sandbox"]')" || return 1
	expect_api 204 "$sock" PUT vm.delete || return 1
	expect_api 404 "$sock" GET vm.info || return 1
	# Confined at the first boot to that VM's files: another kernel is
	# refused at vm.create, the same files are not.
	if [ "$(landlock_expected)" = on ]; then
		expect_api 400 "$sock" PUT vm.create "${cfg/$COUNTER/$HELLO}" || return 1
		grep -q "Permission denied" "$T/body" || fail "body: $(cat "$T/body")" || return 1
		expect_api 204 "$sock" PUT vm.create "$cfg" || return 1
		expect_api 204 "$sock" PUT vm.delete || return 1
	fi
	expect_api 204 "$sock" PUT vmm.shutdown || return 1
	wait "$SERVE_PID"
	rc=$?
	[ "$rc" = 0 ] || fail "sardine serve exited with $rc" || return 1
	[ ! -e "$sock" ] || fail "socket left behind"
}

test_pause_resume_counters_power_button() {
	export SARDINE_RUNTIME_DIR=$T/run
	local log=$T/log sock=$T/run/pr.sock a b io1 io2 rc
	run_start "$log" --kernel "$COUNTER" --name pr --memory 64M
	wait_for "$log" 'TICK 00000002' 20 || { fail "the guest does not run"; return 1; }
	expect_api 200 "$sock" GET vm.counters || return 1
	io1=$(json 'j["vcpu0"]["exits_io"]')
	expect_api 204 "$sock" PUT vm.pause || return 1
	expect_api 405 "$sock" PUT vm.pause || return 1
	expect_api 405 "$sock" PUT vm.power-button || return 1
	expect_api 200 "$sock" GET vm.info || return 1
	[ "$(json 'j["state"]')" = Paused ] || fail "state $(json 'j["state"]')" || return 1
	a=$(ticks "$log")
	sleep 1.5
	b=$(ticks "$log")
	[ "$a" = "$b" ] || fail "the guest ticked while paused ($a -> $b)" || return 1
	expect_api 204 "$sock" PUT vm.resume || return 1
	expect_api 405 "$sock" PUT vm.resume || return 1
	wait_count "$log" '^TICK' $((b + 3)) 20 || { fail "no ticks after resume"; return 1; }
	expect_api 200 "$sock" GET vm.counters || return 1
	io2=$(json 'j["vcpu0"]["exits_io"]')
	[ "$io2" -gt "$io1" ] || fail "exits_io did not grow: $io1 -> $io2" || return 1
	[ "$(json 'j["serial0"]["write_bytes"]')" -gt 0 ] || fail "no serial bytes counted" || return 1
	expect_api 204 "$sock" PUT vm.power-button || return 1
	wait "$RUN_PID"
	rc=$?
	[ "$rc" = 0 ] || fail "exit status $rc after the power button" || return 1
	grep -q TINY-POWER-BUTTON "$log" || fail "the guest never saw the button" || return 1
	[ ! -e "$sock" ] || fail "socket left behind"
}

test_socket_private_never_hijacked_symlink_not_followed() {
	export SARDINE_RUNTIME_DIR=$T/run
	local sock=$T/run/same.sock out rc first
	serve_start "$T/a.log" --name same
	first=$SERVE_PID
	wait_socket "$sock" || return 1
	[ "$(stat -c %a "$sock")" = 600 ] || fail "socket mode $(stat -c %a "$sock")" || return 1
	[ "$(stat -c %a "$T/run")" = 700 ] || fail "directory mode $(stat -c %a "$T/run")" || return 1
	# A live socket is never taken over.
	out=$("$SARDINE" serve --name same 2>&1 </dev/null)
	rc=$?
	[ "$rc" = 2 ] || fail "second VM with the same name: exit $rc ($out)" || return 1
	printf '%s\n' "$out" | grep -q 'already running' || fail "unclear: $out" || return 1
	expect_api 200 "$sock" GET vmm.ping || return 1
	[ "$(json 'j["pid"]')" = "$first" ] || fail "the socket changed hands" || return 1
	# A stale one (its sardine was killed) is replaced.
	kill -KILL "$first"
	wait "$first" 2>/dev/null
	[ -S "$sock" ] || fail "no stale socket to test with" || return 1
	serve_start "$T/b.log" --name same
	for ((i = 0; i < 50; i++)); do
		[ "$(api "$sock" GET vmm.ping)" = 200 ] && [ "$(json 'j["pid"]')" = "$SERVE_PID" ] && break
		sleep 0.1
	done
	[ "$(json 'j["pid"]')" = "$SERVE_PID" ] || fail "the stale socket was not replaced" || return 1
	# A planted symlink is not followed, by default name or by path.
	ln -s "$T/target" "$T/run/planted.sock"
	out=$("$SARDINE" serve --name planted 2>&1 </dev/null)
	rc=$?
	[ "$rc" = 2 ] || fail "planted symlink: exit $rc ($out)" || return 1
	printf '%s\n' "$out" | grep -q 'symbolic link' || fail "unclear: $out" || return 1
	[ ! -e "$T/target" ] && [ -L "$T/run/planted.sock" ] || fail "the symlink was followed" || return 1
	ln -s "$T/target2" "$T/explicit.sock"
	out=$("$SARDINE" run --kernel "$COUNTER" --api-socket "$T/explicit.sock" 2>&1 </dev/null)
	rc=$?
	[ "$rc" = 2 ] || fail "--api-socket symlink: exit $rc ($out)" || return 1
	[ ! -e "$T/target2" ] || fail "the --api-socket symlink was followed" || return 1
	# Removed on exit.
	stop_pid "$SERVE_PID"
	[ ! -e "$sock" ] || fail "socket left behind after SIGTERM"
}

test_malformed_requests_get_4xx() {
	export SARDINE_RUNTIME_DIR=$T/run
	local sock=$T/run/bad.sock out
	serve_start "$T/log" --name bad
	wait_socket "$sock" || return 1
	expect_api 404 "$sock" GET vm.frobnicate || return 1
	expect_api 404 "$sock" PUT vm.snapshot '{}' || return 1
	grep -q 'does not implement' "$T/body" || fail "unclear: $(cat "$T/body")" || return 1
	expect_api 405 "$sock" GET vm.create || return 1
	expect_api 400 "$sock" PUT vm.pause '{"x": 1}' || return 1
	expect_api 400 "$sock" PUT vm.create '{"payload": {"kernel": ' || return 1
	grep -q 'not JSON' "$T/body" || fail "unclear: $(cat "$T/body")" || return 1
	expect_api 400 "$sock" PUT vm.create '{"payload": {"kernel": "/k"}, "cpus": {"boot_vcpus": 1, "topology": {"packages": 2}}}' || return 1
	grep -q 'cpus.topology: not supported by sardine' "$T/body" || fail "unclear: $(cat "$T/body")" || return 1
	expect_api 400 "$sock" PUT vm.create "{\"payload\": {\"kernel\": \"$T/nope\"}}" || return 1
	grep -q 'payload.kernel' "$T/body" || fail "unclear: $(cat "$T/body")" || return 1
	head -c 300000 /dev/zero | tr '\0' ' ' > "$T/big"
	expect_api 413 "$sock" PUT vm.create "@$T/big" || return 1
	# Raw HTTP: junk, bad headers, huge headers, and clients that stall.
	out=$(python3 - "$sock" <<'PY'
import socket, sys, time
path = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.settimeout(20)
    return s
def ask(data):
    s = conn()
    s.sendall(data)
    out = b""
    while True:
        try:
            d = s.recv(65536)
        except OSError:
            break
        if not d:
            break
        out += d
    s.close()
    return out.split(b" ")[1].decode() if out.startswith(b"HTTP/1.1 ") else "none"
# Stalled clients (idle, half a request line) must not block the others.
stalled = [conn() for _ in range(20)]
for s in stalled[:10]:
    s.sendall(b"GET /api/v1/vm")
print(ask(b"GARBAGE HERE\r\n\r\n"))
print(ask(b"GET /api/v1/vmm.ping FOO/1.1\r\nHost: x\r\n\r\n"))
print(ask(b"GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"))
print(ask(b"PUT /api/v1/vm.create HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"))
print(ask(b"PUT /api/v1/vm.create HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n"))
print(ask(b"GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n"))
print(ask(b"GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
for s in stalled:
    s.close()
PY
)
	[ "$(echo $out)" = "400 400 400 400 413 431 200" ] || fail "raw HTTP answers: $(echo $out)" || return 1
	expect_api 200 "$sock" GET vmm.ping || return 1
	kill -0 "$SERVE_PID" || fail "sardine died"
}

test_concurrent_clients_while_guest_runs() {
	export SARDINE_RUNTIME_DIR=$T/run
	local log=$T/log sock=$T/run/busy.sock a i bad pids=()
	run_start "$log" --kernel "$COUNTER" --name busy --memory 64M
	wait_for "$log" 'TICK 00000002' 20 || { fail "the guest does not run"; return 1; }
	a=$(ticks "$log")
	for ((i = 0; i < 200; i++)); do
		curl -s -m 60 --unix-socket "$sock" -o "$T/c.$i" -w '%{http_code}\n' \
			http://localhost/api/v1/vm.info > "$T/s.$i" &
		pids+=($!)
	done
	wait_count "$log" '^TICK' $((a + 5)) 30 || { fail "the guest stalled"; return 1; }
	wait "${pids[@]}"
	bad=0
	for ((i = 0; i < 200; i++)); do
		[ "$(cat "$T/s.$i")" = 200 ] && grep -q '"state":"Running"' "$T/c.$i" || bad=$((bad + 1))
	done
	[ "$bad" = 0 ] || fail "$bad of 200 clients got a wrong answer" || return 1
	"$SARDINE" stop busy || fail "sardine stop failed" || return 1
	wait "$RUN_PID" || fail "exit status $? after stop"
}

test_cli_list_info_stop_and_errors() {
	export SARDINE_RUNTIME_DIR=$T/run
	local log=$T/log out rc
	run_start "$log" --kernel "$COUNTER" --name vm-a --memory 64M --cpus 2
	wait_for "$log" 'TICK 00000001' 20 || { fail "the guest does not run"; return 1; }
	# A stale socket: bound, and its owner gone.
	python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$T/run/ghost.sock"
	out=$("$SARDINE" list)
	printf '%s\n' "$out" | grep -qE "^vm-a +Running +2 +64M +[0-9:]+ +$RUN_PID\$" ||
		fail "list: $out" || return 1
	printf '%s\n' "$out" | grep -qE '^ghost +stale-socket' || fail "list: $out" || return 1
	"$SARDINE" list --json > "$T/body"
	[ "$(json '[v["state"] for v in j if v["name"] == "vm-a"][0]')" = Running ] ||
		fail "list --json: $(cat "$T/body")" || return 1
	"$SARDINE" info vm-a > "$T/body" || fail "info failed" || return 1
	[ "$(json 'j["config"]["cpus"]["boot_vcpus"]')" = 2 ] || fail "info: $(cat "$T/body")" || return 1
	"$SARDINE" counters vm-a > "$T/body" || fail "counters failed" || return 1
	[ "$(json 'j["vcpu1"]["exits_io"] >= 0')" = True ] || fail "counters: $(cat "$T/body")" || return 1
	# Errors: one line each, usage errors exit 2, others 1.
	out=$("$SARDINE" info nosuchvm 2>&1)
	rc=$?
	[ "$rc" = 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
		printf '%s\n' "$out" | grep -q "no VM named 'nosuchvm'" || fail "unknown name: $rc $out" || return 1
	out=$("$SARDINE" pause ghost 2>&1)
	rc=$?
	[ "$rc" = 1 ] && printf '%s\n' "$out" | grep -q 'stale' || fail "stale socket: $rc $out" || return 1
	out=$("$SARDINE" info 'bad/../name' 2>&1)
	[ $? != 0 ] || fail "a path that is no socket" || return 1
	"$SARDINE" pause vm-a || fail "pause" || return 1
	out=$("$SARDINE" pause vm-a 2>&1)
	rc=$?
	[ "$rc" = 1 ] && printf '%s\n' "$out" | grep -q 'paused' || fail "pause twice: $rc $out" || return 1
	"$SARDINE" resume vm-a || fail "resume" || return 1
	out=$("$SARDINE" console vm-a 2>&1 </dev/null)
	rc=$?
	[ "$rc" = 2 ] && printf '%s\n' "$out" | grep -q 'console socket' || fail "console: $rc $out" || return 1
	"$SARDINE" stop vm-a || fail "stop" || return 1
	[ ! -e "$T/run/vm-a.sock" ] || fail "stop returned before the socket went" || return 1
	wait "$RUN_PID"
	rc=$?
	[ "$rc" = 0 ] || fail "exit status $rc after stop"
}

test_console_socket_attach() {
	export SARDINE_RUNTIME_DIR=$T/run
	local out rc
	run_start "$T/log" --kernel "$COUNTER" --name con --memory 64M --console socket
	wait_socket "$T/run/con.console" || return 1
	[ "$(stat -c %a "$T/run/con.console")" = 600 ] || fail "console socket mode" || return 1
	( sleep 3 | "$SARDINE" console con > "$T/attached" 2>&1 ) &
	sleep 1
	out=$("$SARDINE" console con 2>&1 </dev/null)
	printf '%s\n' "$out" | grep -q 'another client' || fail "second client: $out" || return 1
	wait $!
	grep -q '^TICK' "$T/attached" || fail "nothing from the console: $(head -c 300 "$T/attached")" || return 1
	! grep -q TICK "$T/log" || fail "console output went to stdout too" || return 1
	"$SARDINE" power-button con || fail "power-button" || return 1
	wait "$RUN_PID"
	rc=$?
	[ "$rc" = 0 ] || fail "exit status $rc" || return 1
	[ ! -e "$T/run/con.console" ] && [ ! -e "$T/run/con.sock" ] || fail "sockets left behind"
}

test_run_config_round_trip_and_errors() {
	export SARDINE_RUNTIME_DIR=$T/run
	local out rc
	run_start "$T/a.log" --kernel "$COUNTER" --name cfg-a --memory 96M --cpus 3 --no-rng \
		--balloon on,size=8M,deflate_on_oom=off
	wait_for "$T/a.log" 'TICK 00000001' 20 || { fail "the guest does not run"; return 1; }
	"$SARDINE" info cfg-a > "$T/body" || return 1
	json 'json.dumps(j["config"], sort_keys=True)' > "$T/a.json"
	"$SARDINE" stop cfg-a || return 1
	run_start "$T/b.log" --config "$T/a.json" --name cfg-b
	wait_for "$T/b.log" 'TICK 00000001' 20 || { fail "the fed-back config does not run"; return 1; }
	"$SARDINE" info cfg-b > "$T/body" || return 1
	json 'json.dumps(j["config"], sort_keys=True)' > "$T/b.json"
	cmp -s "$T/a.json" "$T/b.json" || fail "configs differ: $(cat "$T/a.json") / $(cat "$T/b.json")" || return 1
	"$SARDINE" stop cfg-b || return 1
	wait "$RUN_PID" || fail "exit status $?" || return 1
	out=$("$SARDINE" run --config "$T/a.json" --memory 1G 2>&1 </dev/null)
	rc=$?
	[ "$rc" = 2 ] && printf '%s\n' "$out" | grep -q 'cannot go with it' || fail "--config + --memory: $rc $out" || return 1
	echo '{"payload": {"kernel": "/k"}, "memory": {"size": "big"}}' > "$T/bad.json"
	out=$("$SARDINE" run --config "$T/bad.json" 2>&1 </dev/null)
	rc=$?
	[ "$rc" = 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
		printf '%s\n' "$out" | grep -q 'memory.size: must be an integer' || fail "bad config: $rc $out" || return 1
	out=$("$SARDINE" run --config "$T/missing.json" 2>&1 </dev/null)
	[ $? = 2 ] || fail "missing config file: $out"
}

test_api_socket_none_and_removed_on_exit() {
	export SARDINE_RUNTIME_DIR=$T/run
	local out
	out=$("$SARDINE" run --kernel "$TINY_DIR/hello.elf" --api-socket none </dev/null 2>&1)
	[ "$out" = TINY-HELLO ] || fail "output: $out" || return 1
	[ -z "$(ls -A "$T/run" 2>/dev/null)" ] || fail "a socket with --api-socket none: $(ls "$T/run")" || return 1
	out=$("$SARDINE" run --kernel "$TINY_DIR/hello.elf" </dev/null 2>&1)
	[ "$out" = TINY-HELLO ] || fail "output: $out" || return 1
	[ -d "$T/run" ] && [ -z "$(ls -A "$T/run")" ] || fail "left in $T/run: $(ls -A "$T/run" 2>&1)"
}

# vm.resize and vm.balloon-stats with a balloon the tiny guest has no
# driver for: the target moves, nothing is inflated, the errors are clear.
test_balloon_resize_stats_and_errors() {
	export SARDINE_RUNTIME_DIR=$T/run
	local sock=$T/run/bal.sock out rc
	run_start "$T/log" --kernel "$COUNTER" --name bal --memory 64M --balloon on,size=8M
	wait_for "$T/log" 'TICK 00000001' 20 || { fail "the guest does not run"; return 1; }
	expect_api 200 "$sock" GET vm.balloon-stats || return 1
	[ "$(json 'j["target_bytes"], j["actual_bytes"], j["stats_age_ms"], j["features"]["driver_ok"]')" = \
		"8388608 0 None False" ] || fail "balloon-stats: $(cat "$T/body")" || return 1
	[ "$(json 'sorted(j["stats"]) == sorted(["swap_in", "swap_out", "major_faults", "minor_faults", "free_memory", "total_memory", "available_memory", "disk_caches", "hugetlb_allocations", "hugetlb_failures"]) and set(j["stats"].values()) == {None}')" = True ] ||
		fail "balloon-stats stats: $(cat "$T/body")" || return 1
	expect_api 204 "$sock" PUT vm.resize '{"desired_balloon": 16777216}' || return 1
	expect_api 200 "$sock" GET vm.balloon-stats || return 1
	[ "$(json 'j["target_bytes"]')" = 16777216 ] || fail "target after resize: $(cat "$T/body")" || return 1
	expect_api 200 "$sock" GET vm.info || return 1
	[ "$(json 'j["config"]["balloon"]["size"], j["balloon"], j["memory_actual_size"]')" = \
		"16777216 {'target_bytes': 16777216, 'actual_bytes': 0} 67108864" ] ||
		fail "vm.info: $(cat "$T/body")" || return 1
	expect_api 200 "$sock" GET vm.counters || return 1
	[ "$(json 'j["memory"]["rss_bytes"] > 0 and j["virtio-balloon"]["target_bytes"] == 16777216')" = True ] ||
		fail "counters: $(cat "$T/body")" || return 1
	# Refused: not smaller than RAM, CPU/RAM resize, no body, paused.
	expect_api 400 "$sock" PUT vm.resize '{"desired_balloon": 67108864}' || return 1
	grep -q 'must be smaller than the guest' "$T/body" || fail "unclear: $(cat "$T/body")" || return 1
	expect_api 400 "$sock" PUT vm.resize '{"desired_vcpus": 2}' || return 1
	grep -q 'only desired_balloon' "$T/body" || fail "unclear: $(cat "$T/body")" || return 1
	expect_api 400 "$sock" PUT vm.resize || return 1
	expect_api 405 "$sock" GET vm.resize || return 1
	expect_api 204 "$sock" PUT vm.pause || return 1
	expect_api 405 "$sock" PUT vm.resize '{"desired_balloon": 0}' || return 1
	expect_api 200 "$sock" GET vm.balloon-stats || return 1
	expect_api 204 "$sock" PUT vm.resume || return 1
	# The command line.
	"$SARDINE" balloon bal 12M || fail "sardine balloon bal 12M" || return 1
	"$SARDINE" balloon bal --stats > "$T/body" || fail "sardine balloon --stats" || return 1
	[ "$(json 'j["target_bytes"]')" = 12582912 ] || fail "--stats: $(cat "$T/body")" || return 1
	out=$("$SARDINE" balloon bal 64M 2>&1)
	rc=$?
	[ "$rc" = 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
		printf '%s\n' "$out" | grep -q 'smaller than' || fail "too big: $rc $out" || return 1
	out=$("$SARDINE" balloon bal 12Q 2>&1)
	rc=$?
	[ "$rc" = 2 ] && printf '%s\n' "$out" | grep -q "'12Q' is not a size" || fail "bad size: $rc $out" || return 1
	out=$("$SARDINE" balloon bal 2>&1)
	rc=$?
	[ "$rc" = 2 ] && printf '%s\n' "$out" | grep -q 'usage: sardine balloon' || fail "no size: $rc $out" || return 1
	out=$("$SARDINE" balloon nosuchvm 1M 2>&1)
	[ $? = 2 ] && printf '%s\n' "$out" | grep -q "no VM named 'nosuchvm'" || fail "unknown VM: $out" || return 1
	"$SARDINE" stop bal || fail "stop" || return 1
	wait "$RUN_PID" || fail "exit status $?"
}

test_balloon_refused_without_balloon_or_in_auto_mode() {
	export SARDINE_RUNTIME_DIR=$T/run
	local out rc
	run_start "$T/a.log" --kernel "$COUNTER" --name nob --memory 64M
	wait_for "$T/a.log" 'TICK 00000001' 20 || { fail "the guest does not run"; return 1; }
	expect_api 409 "$T/run/nob.sock" PUT vm.resize '{"desired_balloon": 0}' || return 1
	grep -q 'no balloon device' "$T/body" || fail "unclear: $(cat "$T/body")" || return 1
	expect_api 409 "$T/run/nob.sock" GET vm.balloon-stats || return 1
	expect_api 200 "$T/run/nob.sock" GET vm.info || return 1
	[ "$(json '"balloon" in j, j["memory_actual_size"]')" = "False 67108864" ] ||
		fail "vm.info: $(cat "$T/body")" || return 1
	out=$("$SARDINE" balloon nob --stats 2>&1)
	rc=$?
	[ "$rc" = 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
		printf '%s\n' "$out" | grep -q 'no balloon device' || fail "--stats: $rc $out" || return 1
	"$SARDINE" stop nob || return 1
	run_start "$T/b.log" --kernel "$COUNTER" --name auto --memory 64M --balloon auto
	wait_for "$T/b.log" 'TICK 00000001' 20 || { fail "the guest does not run"; return 1; }
	out=$("$SARDINE" balloon auto 8M 2>&1)
	rc=$?
	[ "$rc" = 1 ] && printf '%s\n' "$out" | grep -q 'sized automatically' || fail "auto: $rc $out" || return 1
	"$SARDINE" balloon auto --stats > "$T/body" || fail "--stats in auto mode" || return 1
	[ "$(json 'j["auto"]')" = True ] || fail "--stats: $(cat "$T/body")" || return 1
	"$SARDINE" stop auto
}

# Before the boot, vm.resize sets the size the balloon starts with.
test_balloon_resize_before_boot() {
	export SARDINE_RUNTIME_DIR=$T/run
	local sock=$T/run/pre.sock
	local cfg='{"payload": {"kernel": "'$COUNTER'"}, "memory": {"size": 67108864},
		    "balloon": {"size": 0}, "serial": {"mode": "Tty"}, "console": {"mode": "Off"}}'
	serve_start "$T/log" --name pre
	wait_socket "$sock" || return 1
	expect_api 404 "$sock" PUT vm.resize '{"desired_balloon": 0}' || return 1
	expect_api 204 "$sock" PUT vm.create "$cfg" || return 1
	expect_api 405 "$sock" GET vm.balloon-stats || return 1
	expect_api 204 "$sock" PUT vm.resize '{"desired_balloon": 4194404}' || return 1
	expect_api 200 "$sock" GET vm.info || return 1
	[ "$(json 'j["config"]["balloon"]["size"]')" = 4194304 ] || fail "vm.info: $(cat "$T/body")" || return 1
	expect_api 204 "$sock" PUT vm.boot || return 1
	wait_for "$T/log" 'TICK 00000001' 20 || { fail "the guest does not run"; return 1; }
	expect_api 200 "$sock" GET vm.balloon-stats || return 1
	[ "$(json 'j["target_bytes"]')" = 4194304 ] || fail "balloon-stats: $(cat "$T/body")" || return 1
	expect_api 204 "$sock" PUT vmm.shutdown
}

# libmicrohttpd is loaded when the first client connects, not before (a VM
# nobody asks anything keeps it out of its memory); then the API answers.
test_http_library_loaded_on_first_client() {
	export SARDINE_RUNTIME_DIR=$T/run
	local sock=$T/run/lazy.sock
	run_start "$T/lazy.log" --kernel "$COUNTER" --name lazy --memory 64M
	wait_for "$T/lazy.log" 'TICK 00000002' 20 || { fail "the guest does not run"; return 1; }
	wait_socket "$sock" || return 1
	! grep -q libmicrohttpd /proc/"$RUN_PID"/maps || fail "libmicrohttpd mapped before any client" || return 1
	expect_api 200 "$sock" GET vmm.ping || return 1
	grep -q libmicrohttpd /proc/"$RUN_PID"/maps || fail "libmicrohttpd not mapped after a request" || return 1
	expect_api 200 "$sock" GET vm.info || return 1
	[ "$(json 'j["state"]')" = Running ] || fail "state $(json 'j["state"]')" || return 1
	"$SARDINE" stop lazy || fail "stop" || return 1
	wait "$RUN_PID" || fail "sardine exited with $?"
}

# When libmicrohttpd cannot be loaded (here: an unusable file first on
# LD_LIBRARY_PATH), clients are turned away at once, never left hanging;
# sardine says why in one line, and the VM runs on and stops cleanly.
test_http_library_missing_refuses_clients() {
	export SARDINE_RUNTIME_DIR=$T/run
	local sock=$T/run/nolib.sock rc a
	mkdir -p "$T/badlib"
	echo "not a library" >"$T/badlib/libmicrohttpd.so.12"
	: >"$T/nolib.log"
	LD_LIBRARY_PATH=$T/badlib setsid "$SARDINE" run --kernel "$COUNTER" --name nolib --memory 64M \
		>"$T/nolib.log" 2>&1 </dev/null &
	RUN_PID=$!
	BG_PIDS+=("$RUN_PID")
	wait_for "$T/nolib.log" 'TICK 00000002' 20 || { fail "the guest does not run"; return 1; }
	wait_socket "$sock" || return 1
	# The first client, already queued on the socket, is reset (curl's
	# status 56); later ones cannot connect (7).  28 would be a time-out.
	curl -s -m 20 --unix-socket "$sock" -o /dev/null http://localhost/api/v1/vmm.ping
	rc=$?
	[ "$rc" = 56 ] || [ "$rc" = 7 ] || fail "first client: curl status $rc, not 56 or 7" || return 1
	curl -s -m 20 --unix-socket "$sock" -o /dev/null http://localhost/api/v1/vmm.ping
	rc=$?
	[ "$rc" = 7 ] || fail "second client: curl status $rc, not 7 (refused)" || return 1
	wait_for "$T/nolib.log" 'cannot serve the API: cannot load libmicrohttpd.so.12' 10 ||
		{ fail "no error line: $(cat "$T/nolib.log")"; return 1; }
	a=$(ticks "$T/nolib.log")
	sleep 0.5
	[ "$(ticks "$T/nolib.log")" -gt "$a" ] || fail "the guest stopped" || return 1
	kill -TERM "$RUN_PID"
	wait "$RUN_PID"
	rc=$?
	[ "$rc" = 0 ] || fail "sardine exited with $rc after SIGTERM" || return 1
	[ ! -e "$sock" ] || fail "socket left behind"
}

# Landlock confines a VM's file access by default where the kernel has it
# (ABI 2 or later: "on" in vm.info, the log says so), --landlock off does
# not, a wrong mode is refused.
test_landlock_on_by_default() {
	export SARDINE_RUNTIME_DIR=$T/run
	run_start "$T/on.log" --kernel "$COUNTER" --name ll --memory 64M --log-level info
	wait_for "$T/on.log" 'TICK 00000002' 20 || { fail "the guest does not run"; return 1; }
	"$SARDINE" info ll >"$T/body" || fail "info" || return 1
	[ "$(json 'j["sandbox"]["landlock"]')" = "$(landlock_expected)" ] ||
		fail "landlock $(json 'j["sandbox"]')" || return 1
	# Threads still get their names (a thread naming another writes its
	# /proc/PID/task/TID/comm, which the confinement refuses).
	grep -qx vcpu0 /proc/"$RUN_PID"/task/*/comm || fail "no thread named vcpu0: $(cat /proc/"$RUN_PID"/task/*/comm)" || return 1
	if [ "$(landlock_expected)" = on ]; then
		grep -q "file access confined (Landlock ABI $(landlock_abi))" "$T/on.log" ||
			fail "no log line: $(cat "$T/on.log")" || return 1
	else
		"$SARDINE" run --kernel "$COUNTER" --landlock on >"$T/err" 2>&1
		[ $? = 1 ] && grep -q "no usable Landlock" "$T/err" || fail "--landlock on: $(cat "$T/err")" || return 1
	fi
	"$SARDINE" stop ll || fail "stop" || return 1
	run_start "$T/off.log" --kernel "$COUNTER" --name ll-off --memory 64M --landlock off
	wait_for "$T/off.log" 'TICK 00000002' 20 || { fail "the guest does not run with --landlock off"; return 1; }
	"$SARDINE" info ll-off >"$T/body" || fail "info" || return 1
	[ "$(json 'j["sandbox"]["landlock"]')" = off ] || fail "--landlock off: $(cat "$T/body")" || return 1
	"$SARDINE" stop ll-off || fail "stop" || return 1
	"$SARDINE" run --kernel "$COUNTER" --landlock maybe 2>"$T/err"
	[ $? = 2 ] && grep -q "landlock: 'maybe'" "$T/err" || fail "bad mode: $(cat "$T/err")"
}

# $T/no-landlock CMD...: CMD as on a kernel without Landlock: a seccomp
# filter (no new privileges) answers landlock_create_ruleset (444 on
# x86-64) with ENOSYS.
write_no_landlock() {
	cat >"$T/no-landlock" <<'PY'
#!/usr/bin/env python3
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
insns = [(0x20, 0, 0, 0),                 # A = seccomp_data.nr
         (0x15, 0, 1, 444),               # A == landlock_create_ruleset?
         (0x06, 0, 0, 0x00050000 | 38),   # RET ERRNO(ENOSYS)
         (0x06, 0, 0, 0x7fff0000)]        # RET ALLOW
code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in insns))
prog = ctypes.create_string_buffer(struct.pack("HxxxxxxQ", len(insns), ctypes.addressof(code)))
if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.addressof(prog), 0, 0):
    sys.exit("seccomp: " + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[1], sys.argv[1:])
PY
	chmod +x "$T/no-landlock"
}

# Where the kernel has no usable Landlock, the default (auto) runs the VM
# unconfined and says so; --landlock on refuses to run, exit status 1
# (the host's lack, like a missing KVM capability).
test_landlock_unavailable() {
	export SARDINE_RUNTIME_DIR=$T/run
	local rc
	write_no_landlock
	"$T/no-landlock" "$SARDINE" run --kernel "$COUNTER" --landlock on >"$T/err" 2>&1
	rc=$?
	[ $rc = 1 ] && grep -q "no usable Landlock (Function not implemented)" "$T/err" ||
		fail "--landlock on: exit $rc: $(cat "$T/err")" || return 1
	# Its own process group, one PID from setsid to sardine (exec).
	setsid "$T/no-landlock" "$SARDINE" run --kernel "$COUNTER" --name ll-none --memory 64M \
		--log-level info >"$T/auto.log" 2>&1 </dev/null &
	BG_PIDS+=($!)
	wait_for "$T/auto.log" 'TICK 00000002' 20 || { fail "the guest does not run: $(cat "$T/auto.log")"; return 1; }
	grep -q "not confined: this kernel has no usable Landlock" "$T/auto.log" ||
		fail "no log line: $(cat "$T/auto.log")" || return 1
	"$SARDINE" info ll-none >"$T/body" || fail "info" || return 1
	[ "$(json 'j["sandbox"]["landlock"]')" = off ] || fail "vm.info: $(cat "$T/body")" || return 1
	"$SARDINE" stop ll-none || fail "stop"
}

# The seccomp filter is on every thread of a running VM by default
# (Seccomp: 2 is "filter" in /proc), off on request, and a wrong mode is
# refused; the VM runs either way.
test_seccomp_filter_on_by_default() {
	export SARDINE_RUNTIME_DIR=$T/run
	local task n=0 mode
	run_start "$T/on.log" --kernel "$COUNTER" --name sbx --memory 64M
	wait_for "$T/on.log" 'TICK 00000002' 20 || { fail "the guest does not run"; return 1; }
	for task in /proc/"$RUN_PID"/task/*; do
		mode=$(awk '/^Seccomp:/ {print $2}' "$task/status")
		[ "$mode" = 2 ] || fail "thread $(cat "$task/comm") has Seccomp: $mode" || return 1
		n=$((n + 1))
	done
	[ "$n" -ge 3 ] || fail "only $n threads to look at" || return 1
	"$SARDINE" stop sbx || fail "stop" || return 1
	run_start "$T/off.log" --kernel "$COUNTER" --name sbx-off --memory 64M --seccomp off
	wait_for "$T/off.log" 'TICK 00000002' 20 || { fail "the guest does not run with --seccomp off"; return 1; }
	mode=$(awk '/^Seccomp:/ {print $2}' /proc/"$RUN_PID"/status)
	[ "$mode" = 0 ] || fail "--seccomp off: Seccomp: $mode" || return 1
	"$SARDINE" stop sbx-off || fail "stop" || return 1
	"$SARDINE" run --kernel "$COUNTER" --seccomp maybe 2>"$T/err"
	[ $? = 2 ] && grep -q "seccomp: 'maybe'" "$T/err" || fail "bad mode: $(cat "$T/err")"
}
