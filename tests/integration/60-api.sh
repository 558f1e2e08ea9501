# The REST API and the VM-management commands with a real Linux guest.
# Two test functions, three boots: one VM goes through list, info,
# counters, pause/resume, 200 clients, bad requests and the power button,
# then its vm.info config boots a second, identical VM; `sardine serve`
# creates, boots and deletes a third with curl alone.  Sockets go to $T/run.

counts() {
	grep -c '^COUNT ' "$1"
}

# The guest uptime printed on COUNT line number N (from 1).
uptime_at() {
	grep '^COUNT ' "$1" | sed -n "${2}p" | tr -d '\r' | awk '{print $3}'
}

# The kernel's button and evdev modules, which the power button needs
# (Debian builds both as modules).  Used from the guest's initramfs when
# the test guest has them, else from the kernel package that
# tests/guest/build.sh unpacked into its cache.  Prints the directory to
# copy them from ("" when the guest loads them itself); fails if neither.
power_button_modules() {
	local krel dir
	if cpio -t --quiet < "$GUEST_INITRD" | grep -q '/button\.ko' &&
	   cpio -t --quiet < "$GUEST_INITRD" | grep -q '/evdev\.ko'; then
		echo ""
		return 0
	fi
	krel=$(cpio -t --quiet < "$GUEST_INITRD" | sed -n 's|^lib/modules/\([^/]*\)/.*|\1|p' | head -1)
	for dir in "${SARDINE_CACHE:-$HOME/.cache/sardine}"/unpacked/linux-image-"$krel"_*/lib/modules/"$krel"/kernel/drivers; do
		if [ -f "$dir/acpi/button.ko" ] && [ -f "$dir/input/evdev.ko" ]; then
			echo "$dir"
			return 0
		fi
	done
	return 1
}

# The guest: button + evdev + busybox acpid, whose PWRF handler marks the
# press; meanwhile "COUNT i UPTIME" every 0.2 s.  When the button is
# seen, the script ends and the guest's init powers off (ACPI S5).
api_guest_initrd() {
	local moddir=$1 dir=$T/extra
	mkdir -p "$dir/test/modules"
	if [ -n "$moddir" ]; then
		cp "$moddir/acpi/button.ko" "$moddir/input/evdev.ko" "$dir/test/modules/"
	fi
	cat > "$dir/test/run.sh" <<'SCRIPT'
for m in button evdev; do
	[ -f /test/modules/$m.ko ] && insmod /test/modules/$m.ko
done
echo BUTTON=$(ls /sys/bus/acpi/drivers/button 2>/dev/null | grep -c LNXPWRBN)
mkdir -p /etc/acpi/PWRF
printf '#!/bin/sh\ntouch /tmp/power\n' > /etc/acpi/PWRF/00000080
chmod +x /etc/acpi/PWRF/00000080
busybox acpid -d -c /etc/acpi > /tmp/acpid.log 2>&1 &
echo CPUS=$(nproc)
i=0
while [ ! -e /tmp/power ] && [ $i -lt 100000 ]; do
	echo "COUNT $i $(cut -d' ' -f1 /proc/uptime)"
	i=$((i + 1))
	sleep 0.2
done
echo GUEST-SAW-POWER-BUTTON
SCRIPT
	chmod +x "$dir/test/run.sh"
	(cd "$dir" && find test | cpio -o -H newc --quiet) > "$T/extra.cpio"
	cat "$GUEST_INITRD" "$T/extra.cpio" > "$T/initrd.cpio"
	echo "$T/initrd.cpio"
}

# 200 clients at once, each on its own connection, ask for vm.info; all
# must get the right answer.  One Python process drives them (200 curl
# processes would mostly measure process start-up under emulation).
many_clients() {
	local out
	out=$(python3 - "$1" <<'PY'
import selectors, socket, sys, time
sel = selectors.DefaultSelector()
req = b"GET /api/v1/vm.info HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
clients = {}
for i in range(200):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    clients[s] = b""
for s in clients:
    s.sendall(req)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
deadline = time.time() + 300
while sel.get_map() and time.time() < deadline:
    for key, _ in sel.select(5):
        d = key.fileobj.recv(65536)
        if d:
            clients[key.fileobj] += d
        else:
            sel.unregister(key.fileobj)
good = sum(1 for r in clients.values()
           if r.startswith(b"HTTP/1.1 200 ") and b'"state":"Running"' in r)
bad = [r[:60] for r in clients.values() if not r.startswith(b"HTTP/1.1 200 ")]
print(good, bad[:3])
PY
)
	[ "${out%% *}" = 200 ] || fail "of 200 concurrent clients, only ${out%% *} got the right answer: ${out#* }"
}

# Bad requests of every kind: each a 4xx, the VM unharmed.
bad_requests() {
	local sock=$1 out
	head -c 300000 /dev/zero | tr '\0' ' ' > "$T/big"
	expect_api 413 "$sock" PUT vm.create "@$T/big" || return 1
	expect_api 400 "$sock" PUT vm.create '{"payload": {"kernel": "/k"' || return 1
	expect_api 400 "$sock" PUT vm.create '{"payload": {"kernel": "/k"}, "vsock": {"cid": 3, "socket": "/s"}}' || return 1
	grep -q 'vsock: not supported by sardine' "$T/body" || fail "unclear: $(cat "$T/body")" || return 1
	expect_api 400 "$sock" PUT vm.create '{"payload": {"kernel": "/k"}, "bogus": true}' || return 1
	# Endpoints sardine lacks are refused by name; vm.resize takes only
	# desired_balloon.
	expect_api 404 "$sock" PUT vm.snapshot '{"destination_url": "file:///tmp/x"}' || return 1
	expect_api 400 "$sock" PUT vm.resize '{"desired_vcpus": 4}' || return 1
	grep -q 'desired_vcpus: not supported' "$T/body" || fail "unclear: $(cat "$T/body")" || return 1
	expect_api 405 "$sock" DELETE vm.info || return 1
	expect_api 409 "$sock" PUT vm.boot || return 1
	out=$(python3 - "$sock" <<'PY'
import socket, sys
def ask(data):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.settimeout(60)
    s.sendall(data)
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    return out.split(b" ")[1].decode() if out.startswith(b"HTTP/1.1 ") else "none"
print(ask(b"GARBAGE HERE\r\n\r\n"), ask(b"GET /api/v1/vm.info HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n"),
      ask(b"PUT /api/v1/vm.create HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"))
PY
)
	[ "$out" = "400 400 400" ] || fail "raw HTTP answers: $out"
}

# One of the long ones: ~2x its one-CPU-box time, for a loaded host.
# time limit: test_running_guest_through_the_api 600
test_running_guest_through_the_api() {
	export SARDINE_RUNTIME_DIR=$T/run
	local log=$T/log log2=$T/log2 sock=$T/run/api1.sock moddir initrd rc n t0 t1 io0 io1 ser0 ser1
	moddir=$(power_button_modules) || {
		note "no button.ko/evdev.ko for the test guest's kernel (add button and evdev to GUEST_MODULES in tests/guest/build.sh)"
		return 77
	}
	initrd=$(api_guest_initrd "$moddir")
	guest_start "$log" --initrd "$initrd" --name api1 --cpus 2
	wait_for "$log" '^COUNT 3 ' || { fail "the guest never counted"; return 1; }
	[ "$(guest_value "$log" BUTTON)" = 1 ] || fail "no ACPI power button in the guest" || return 1

	# sardine list and vm.info
	"$SARDINE" list > "$T/list"
	grep -qE '^api1 +Running +2 +256M ' "$T/list" || fail "list: $(cat "$T/list")" || return 1
	expect_api 200 "$sock" GET vm.info || return 1
	json 'json.dumps(j["config"])' > "$T/api1.json"
	# Confined to its own files where the kernel has Landlock (the box's has).
	[ "$(json 'j["sandbox"]["landlock"]')" = "$(landlock_expected)" ] ||
		fail "sandbox $(json 'j["sandbox"]'), expected landlock $(landlock_expected)" || return 1

	# Counters grow with guest work.
	expect_api 200 "$sock" GET vm.counters || return 1
	io0=$(json 'j["vcpu0"]["exits_io"] + j["vcpu1"]["exits_io"]')
	ser0=$(json 'j["serial0"]["write_bytes"]')
	n=$(counts "$log")
	wait_count "$log" '^COUNT ' $((n + 5)) || { fail "the guest stopped counting"; return 1; }
	expect_api 200 "$sock" GET vm.counters || return 1
	io1=$(json 'j["vcpu0"]["exits_io"] + j["vcpu1"]["exits_io"]')
	ser1=$(json 'j["serial0"]["write_bytes"]')
	[ "$io1" -gt "$io0" ] && [ "$ser1" -gt "$ser0" ] ||
		fail "counters did not grow: exits_io $io0 -> $io1, serial bytes $ser0 -> $ser1" || return 1
	[ "$(json '"kvm_exits" in j["vcpu0"]')" = True ] || note "no KVM binary statistics here"

	# Pause stops the guest; resume continues it, and its clock did not
	# count the paused time.
	expect_api 204 "$sock" PUT vm.pause || return 1
	n=$(counts "$log")
	t0=$(uptime_at "$log" "$n")
	sleep 6
	[ "$(counts "$log")" = "$n" ] || fail "the guest counted while paused" || return 1
	expect_api 200 "$sock" GET vm.info || return 1
	[ "$(json 'j["state"]')" = Paused ] || fail "state $(json 'j["state"]')" || return 1
	expect_api 204 "$sock" PUT vm.resume || return 1
	wait_count "$log" '^COUNT ' $((n + 3)) || { fail "no counting after resume"; return 1; }
	t1=$(uptime_at "$log" $((n + 1)))
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 3) }' ||
		fail "guest uptime jumped from $t0 to $t1 across a 6 s pause" || return 1

	# 200 clients at once, while the guest keeps counting.
	n=$(counts "$log")
	many_clients "$sock" || return 1
	wait_count "$log" '^COUNT ' $((n + 3)) || { fail "the guest stalled"; return 1; }

	# Malformed and unsupported requests: 4xx, and the VM unharmed.
	bad_requests "$sock" || return 1
	n=$(counts "$log")
	wait_count "$log" '^COUNT ' $((n + 3)) || { fail "the guest stalled after bad requests"; return 1; }
	expect_api 200 "$sock" GET vmm.ping || return 1

	# The power button: the guest shuts down cleanly, sardine exits 0.
	expect_api 204 "$sock" PUT vm.power-button || return 1
	wait "$GUEST_PID"
	rc=$?
	expect_clean_run "$log" "$rc" || return 1
	grep -q GUEST-SAW-POWER-BUTTON "$log" ||
		{ tail -n 12 "$log" | sed 's/^/#     | /' >&2; fail "the guest never saw the button"; return 1; }
	[ ! -e "$sock" ] || fail "socket left behind" || return 1

	# vm.info's config boots an identical VM.
	setsid timeout --kill-after=10 "$GUEST_TIMEOUT" "$SARDINE" run --config "$T/api1.json" --name api2 \
		>"$log2" 2>&1 </dev/null &
	GUEST_PID=$!
	BG_PIDS+=("$GUEST_PID")
	wait_for "$log2" '^COUNT 1 ' || { fail "the fed-back config did not boot"; return 1; }
	expect_api 200 "$T/run/api2.sock" GET vm.info || return 1
	json 'json.dumps(j["config"])' > "$T/api2.json"
	python3 -c 'import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:]); sys.exit(a != b)' \
		"$T/api1.json" "$T/api2.json" ||
		fail "configs differ: $(cat "$T/api1.json") / $(cat "$T/api2.json")" || return 1
	[ "$(guest_value "$log2" CPUS)" = "$(guest_value "$log" CPUS)" ] ||
		fail "the guests differ: CPUS $(guest_value "$log" CPUS) / $(guest_value "$log2" CPUS)" || return 1
	"$SARDINE" stop api2 || fail "sardine stop" || return 1
	wait "$GUEST_PID"
	rc=$?
	[ "$rc" = 0 ] || fail "exit status $rc after sardine stop"
}

test_serve_flow_with_curl_alone() {
	local sock=$T/serve.sock log=$T/log rc i pid cfg
	setsid timeout --kill-after=10 "$GUEST_TIMEOUT" "$SARDINE" serve --api-socket "$sock" \
		>"$log" 2>&1 </dev/null &
	pid=$!
	BG_PIDS+=("$pid")
	for ((i = 0; i < 100; i++)); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	cfg='{"cpus": {"boot_vcpus": 1, "max_vcpus": 1}, "memory": {"size": 268435456},
	      "payload": {"kernel": "'$GUEST_KERNEL'", "initramfs": "'$GUEST_INITRD'",
	                  "cmdline": "'"$GUEST_CMDLINE_BASE"' -- echo SERVE-GUEST-UP; sleep 600"},
	      "serial": {"mode": "Tty"}, "console": {"mode": "Off"}}'
	expect_api 200 "$sock" GET vmm.ping || return 1
	expect_api 404 "$sock" GET vm.info || return 1
	expect_api 204 "$sock" PUT vm.create "$cfg" || return 1
	expect_api 200 "$sock" GET vm.info || return 1
	grep -q '"state":"Created"' "$T/body" || fail "after create: $(cat "$T/body")" || return 1
	expect_api 204 "$sock" PUT vm.boot || return 1
	wait_for "$log" SERVE-GUEST-UP || { fail "the guest did not boot"; return 1; }
	expect_api 200 "$sock" GET vm.info || return 1
	grep -q '"state":"Running"' "$T/body" || fail "after boot: $(cat "$T/body")" || return 1
	expect_api 204 "$sock" PUT vm.shutdown || return 1
	expect_api 200 "$sock" GET vm.info || return 1
	grep -q '"state":"Shutdown"' "$T/body" || fail "after shutdown: $(cat "$T/body")" || return 1
	expect_api 204 "$sock" PUT vm.delete || return 1
	expect_api 404 "$sock" GET vm.info || return 1
	expect_api 204 "$sock" PUT vmm.shutdown || return 1
	wait "$pid"
	rc=$?
	[ "$rc" = 0 ] || fail "sardine serve exited with $rc" || return 1
	[ ! -e "$sock" ] || fail "socket left behind"
}
