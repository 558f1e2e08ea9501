# virtio-net on TAP interfaces.  Every test makes network namespaces of its
# own: the TAPs sardine creates, any bridge, and every host-side peer live
# there, so no frame leaves them; teardown removes them, on failure too.
# Several checks share each boot: boots are the expensive part.

NETNS=()
# A 200 MB transfer takes minutes under the box's emulation.
NET_TIMEOUT=${NET_TIMEOUT:-800}

teardown() {
	local ns
	for ns in "${NETNS[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}

# new_netns VAR: a fresh namespace with lo up; its name in VAR.
new_netns() {
	local name=sdnet-$$-$RANDOM
	ip netns add "$name" || return 1
	NETNS+=("$name")
	ip -n "$name" link set lo up
	printf -v "$1" '%s' "$name"
}

# net_guest_start LOG NS [guest_command options]: guest_start, inside NS.
net_guest_start() {
	local log=$1 ns=$2
	shift 2
	guest_command "$@"
	( exec ip netns exec "$ns" "${GUEST_CMD[@]}" >"$log" 2>&1 </dev/null ) &
	GUEST_PID=$!
	BG_PIDS+=("$GUEST_PID")
}

# sardine itself (the guest command runs it under timeout).
sardine_pid() {
	pgrep -P "$1" -x sardine
}

wait_link() { # NS IFNAME
	local i
	for ((i = 0; i < 600; i++)); do
		ip -n "$1" link show "$2" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	fail "$2 never appeared in $1"
}

# Guest script preamble: eth0 at $1/24, then wait until $2 answers.
guest_net_up() {
	cat <<EOF
ip addr add $1/24 dev eth0
ip link set eth0 up
echo MAC=\$(cat /sys/class/net/eth0/address)
ok=0
for i in \$(seq 180); do ping -c 1 -W 1 $2 >/dev/null 2>&1 && { ok=1; break; }; done
echo PING=\$ok
EOF
}

# The host side of the transfers: receives exactly SIZE bytes on port
# 5001 and sends SIZE random bytes on port 5002, printing the SHA-256 of
# each stream.
host_peer() {
	cat > "$T/peer.py" <<'PY'
import hashlib, os, socket, sys, threading
size = int(sys.argv[1])
def serve(port, fn):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(1)
    c, _ = s.accept()
    fn(c)
    c.close()
def recv(c):
    h, n = hashlib.sha256(), 0
    while n < size:
        b = c.recv(min(1 << 20, size - n))
        if not b:
            break
        h.update(b); n += len(b)
    print("HOST_RECEIVED=%d %s" % (n, h.hexdigest()), flush=True)
def send(c):
    h, n = hashlib.sha256(), 0
    while n < size:
        b = os.urandom(min(1 << 20, size - n))
        h.update(b); c.sendall(b); n += len(b)
    c.shutdown(socket.SHUT_WR)
    print("HOST_SENT=%d %s" % (n, h.hexdigest()), flush=True)
t = threading.Thread(target=serve, args=(5001, recv)); t.start()
serve(5002, send)
t.join()
PY
}

# 200 MB each way.  The guest moves them with socat in 256 KiB writes: under
# the box's emulation every socket write costs milliseconds of round trip
# (the send queue waits for transmit completions), so busybox nc's 8 KiB
# writes crawl (0.2 MB/s) where large ones reach ~10 MB/s.
# time limit: test_ping_and_200mb_each_way_with_checksums 900
test_ping_and_200mb_each_way_with_checksums() {
	local ns log=$T/log peer=$T/peer.log size=$((200 << 20)) initrd rc
	new_netns ns || return 1
	host_peer
	ip netns exec "$ns" python3 "$T/peer.py" "$size" >"$peer" 2>&1 &
	BG_PIDS+=($!)
	{
		guest_net_up 10.0.0.2 10.0.0.1
		cat <<EOF
ping -c 3 -q 10.0.0.1 | sed -n 's/.* \([0-9]*\) packets received.*/PINGS=\1/p'
head -c $size /dev/urandom > /tmp/out
echo GUEST_SENT=\$(stat -c %s /tmp/out) \$(sha256sum /tmp/out | cut -d' ' -f1)
socat -u -b 262144 OPEN:/tmp/out TCP:10.0.0.1:5001
rm /tmp/out
socat -u -b 262144 TCP:10.0.0.1:5002 CREATE:/tmp/in
echo GUEST_RECEIVED=\$(stat -c %s /tmp/in) \$(sha256sum /tmp/in | cut -d' ' -f1)
EOF
	} > "$T/guest.sh"
	initrd=$(script_initrd "$(tools_initrd)" "$T/guest.sh")
	GUEST_TIMEOUT=$NET_TIMEOUT net_guest_start "$log" "$ns" --initrd "$initrd" --memory 768M \
		--name net-transfer --net tap=sdtap0 --log-level info
	wait_link "$ns" sdtap0 || return 1
	ip -n "$ns" addr add 10.0.0.1/24 dev sdtap0
	ip -n "$ns" link set sdtap0 up
	wait "$GUEST_PID"
	rc=$?
	expect_clean_run "$log" "$rc" || return 1
	[ "$(guest_value "$log" PING)" = 1 ] || fail "guest never reached the host" || return 1
	[ "$(guest_value "$log" PINGS)" = 3 ] || fail "pings answered: $(guest_value "$log" PINGS)" || return 1
	guest_value "$log" MAC | grep -qE '^[0-9a-f][26ae](:[0-9a-f]{2}){5}$' ||
		fail "MAC $(guest_value "$log" MAC) is not locally administered unicast" || return 1
	local sent recvd
	sent=$(guest_value "$log" GUEST_SENT)
	recvd=$(sed -n 's/^HOST_RECEIVED=//p' "$peer")
	note "guest->host: guest $sent, host $recvd"
	[ "${sent%% *}" = "$size" ] && [ "$sent" = "$recvd" ] || fail "guest->host stream differs" || return 1
	sent=$(sed -n 's/^HOST_SENT=//p' "$peer")
	recvd=$(guest_value "$log" GUEST_RECEIVED)
	note "host->guest: host $sent, guest $recvd"
	[ "${sent%% *}" = "$size" ] && [ "$sent" = "$recvd" ] || fail "host->guest stream differs" || return 1
	# Both directions carried segments longer than an Ethernet frame (TSO
	# and GRO at work), not only 1514-byte frames.  How long depends on
	# TCP's pacing, so on the machine's speed; that they cross does not.
	local line rxp rxb txp txb rxl txl
	line=$(grep 'virtio-net0: rx [0-9]* packets' "$log" | tail -1)
	[ -n "$line" ] || fail "no counters in the log" || return 1
	read -r rxp rxb txp txb < <(sed -n 's/.*virtio-net0: rx \([0-9]*\) packets \([0-9]*\) bytes .*tx \([0-9]*\) packets \([0-9]*\) bytes.*/\1 \2 \3 \4/p' <<<"$line")
	read -r rxl txl < <(sed -n 's/.*longer than 1514 bytes: rx \([0-9]*\) tx \([0-9]*\).*/\1 \2/p' <<<"$line")
	note "sardine: rx $rxp frames $rxb bytes ($rxl longer than 1514), tx $txp frames $txb bytes ($txl longer)"
	[ "${rxl:-0}" -gt 0 ] && [ "${txl:-0}" -gt 0 ] || fail "no frames longer than 1514 bytes crossed: no TSO/GRO"
}

test_link_down_up_and_bad_frames() {
	local ns log=$T/log initrd rc pid
	new_netns ns || return 1
	{
		guest_net_up 10.0.0.2 10.0.0.1
		cat <<'EOF'
nc -l -p 7777 > /tmp/go &
echo LINK-WAIT-DOWN
# operstate follows carrier through the kernel's linkwatch, a little later.
for i in $(seq 600); do [ "$(cat /sys/class/net/eth0/carrier)" = 0 ] && [ "$(cat /sys/class/net/eth0/operstate)" = down ] && break; sleep 0.2; done
echo CARRIER_DOWN=$(cat /sys/class/net/eth0/carrier) $(cat /sys/class/net/eth0/operstate)
echo LINK-WAIT-UP
for i in $(seq 600); do [ "$(cat /sys/class/net/eth0/carrier)" = 1 ] && break; sleep 0.2; done
echo CARRIER_UP=$(cat /sys/class/net/eth0/carrier)
ok=0
for i in $(seq 60); do ping -c 1 -W 1 10.0.0.1 >/dev/null 2>&1 && { ok=1; break; }; done
echo PING_AFTER_UP=$ok
echo BAD-FRAMES-NOW
for i in $(seq 600); do grep -q go /tmp/go 2>/dev/null && break; sleep 0.2; done
ping -c 3 -q 10.0.0.1 | sed -n 's/.* \([0-9]*\) packets received.*/PINGS_AFTER_BAD=\1/p'
echo RX_LENGTH_ERRORS=$(cat /sys/class/net/eth0/statistics/rx_length_errors)
EOF
	} > "$T/guest.sh"
	initrd=$(script_initrd "$GUEST_INITRD" "$T/guest.sh")
	net_guest_start "$log" "$ns" --initrd "$initrd" --name net-link --net tap=sdtap1 --log-level info
	wait_link "$ns" sdtap1 || return 1
	ip -n "$ns" addr add 10.0.0.1/24 dev sdtap1
	ip -n "$ns" link set sdtap1 up
	pid=$(sardine_pid "$GUEST_PID")
	[ -n "$pid" ] || fail "no sardine process" || return 1
	wait_for "$log" LINK-WAIT-DOWN || { fail "guest did not get to the link test"; return 1; }
	kill -USR2 "$pid"
	wait_for "$log" LINK-WAIT-UP || { fail "guest stuck waiting for carrier down"; return 1; }
	kill -USR2 "$pid"
	wait_for "$log" BAD-FRAMES-NOW || { fail "guest stuck waiting for carrier up"; return 1; }
	# The host side raises its MTU behind sardine's back and sends frames
	# longer than the MTU sardine gave the guest: sardine drops and
	# counts them, then traffic carries on.
	ip -n "$ns" link set sdtap1 mtu 9000
	ip netns exec "$ns" python3 - "$(guest_value "$log" MAC)" <<'PY' || { fail "could not send the frames"; return 1; }
import socket, sys
mac = bytes.fromhex(sys.argv[1].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("sdtap1", 0))
src = bytes.fromhex("021122334455")
for size in (1600, 4000, 8000):
    s.send(mac + src + b"\x08\x00" + bytes(size - 14))
c = socket.create_connection(("10.0.0.2", 7777), timeout=30)
c.sendall(b"go\n")
c.close()
PY
	wait "$GUEST_PID"
	rc=$?
	expect_clean_run "$log" "$rc" || return 1
	[ "$(guest_value "$log" PING)" = 1 ] || fail "no ping before the link test" || return 1
	[ "$(guest_value "$log" CARRIER_DOWN)" = "0 down" ] ||
		fail "guest saw carrier/operstate '$(guest_value "$log" CARRIER_DOWN)' after link down" || return 1
	[ "$(guest_value "$log" CARRIER_UP)" = 1 ] || fail "guest never saw the link come back" || return 1
	[ "$(guest_value "$log" PING_AFTER_UP)" = 1 ] || fail "no traffic after link up" || return 1
	[ "$(guest_value "$log" PINGS_AFTER_BAD)" = 3 ] || fail "traffic stopped after the bad frames" || return 1
	[ "$(guest_value "$log" RX_LENGTH_ERRORS)" = 0 ] || fail "the guest got oversize frames" || return 1
	expect_log "$log" 'virtio-net0: link down' "no link-down event" || return 1
	expect_log "$log" 'virtio-net0: rx .* 3 dropped, .*oversize 3 ' "sardine did not count 3 oversize frames"
}

test_two_vms_on_a_bridge() {
	local ns log1=$T/log1 log2=$T/log2 i1 i2 p1 p2 rc1 rc2 size=$((20 << 20))
	new_netns ns || return 1
	ip -n "$ns" link add br0 type bridge
	ip -n "$ns" link set br0 up
	{
		guest_net_up 10.0.0.11 10.0.0.12
		cat <<EOF
head -c $size /dev/urandom > /tmp/f
echo SENT=\$(sha256sum /tmp/f | cut -d' ' -f1)
for i in \$(seq 300); do nc 10.0.0.12 6000 < /tmp/f && break; sleep 1; done
EOF
	} > "$T/g1.sh"
	{
		# The listener's stdin must stay open: busybox nc quits at EOF on
		# stdin.  It quits when the sender closes; "wait" would also wait
		# for the sleep, so poll for nc alone.
		echo 'sleep 900 | nc -l -p 6000 > /tmp/r & NC=$!'
		guest_net_up 10.0.0.12 10.0.0.11
		cat <<EOF
while kill -0 \$NC 2>/dev/null; do sleep 1; done
echo GOT=\$(stat -c %s /tmp/r) \$(sha256sum /tmp/r | cut -d' ' -f1)
EOF
	} > "$T/g2.sh"
	i1=$(script_initrd "$GUEST_INITRD" "$T/g1.sh")
	i2=$(script_initrd "$GUEST_INITRD" "$T/g2.sh")
	net_guest_start "$log1" "$ns" --initrd "$i1" --name net-vm1 --net tap=sdtapa
	p1=$GUEST_PID
	net_guest_start "$log2" "$ns" --initrd "$i2" --name net-vm2 --net tap=sdtapb
	p2=$GUEST_PID
	wait_link "$ns" sdtapa && wait_link "$ns" sdtapb || return 1
	ip -n "$ns" link set sdtapa master br0 up
	ip -n "$ns" link set sdtapb master br0 up
	wait "$p1"
	rc1=$?
	wait "$p2"
	rc2=$?
	expect_clean_run "$log1" "$rc1" && expect_clean_run "$log2" "$rc2" || return 1
	[ "$(guest_value "$log1" PING)" = 1 ] && [ "$(guest_value "$log2" PING)" = 1 ] ||
		fail "the VMs did not reach each other" || return 1
	[ "$(guest_value "$log1" MAC)" != "$(guest_value "$log2" MAC)" ] ||
		fail "both VMs got MAC $(guest_value "$log1" MAC)" || return 1
	note "vm1 sent $(guest_value "$log1" SENT), vm2 got $(guest_value "$log2" GOT)"
	[ "$(guest_value "$log2" GOT)" = "$size $(guest_value "$log1" SENT)" ] ||
		fail "the stream between the VMs differs"
}

test_multiqueue_four_vcpus_four_queues() {
	local ns log=$T/log initrd rc q
	new_netns ns || return 1
	# An existing multi-queue TAP, as an administrator would prepare it.
	ip -n "$ns" tuntap add dev sdtapmq mode tap multi_queue vnet_hdr || return 1
	# Four host addresses: pings to one address are one flow (ICMP hashes
	# on the addresses alone), so each CPU pings its own.
	for q in 1 2 3 4; do ip -n "$ns" addr add 10.0.0.$q/24 dev sdtapmq; done
	ip -n "$ns" link set sdtapmq up
	{
		guest_net_up 10.0.0.9 10.0.0.1
		cat <<'EOF'
echo QUEUES=$(ls -d /sys/class/net/eth0/queues/tx-* | wc -l)
# Transmit: one flow per CPU, which XPS sends on that CPU's queue.
for c in 0 1 2 3; do taskset -c $c ping -c 10 -i 0.2 -q 10.0.0.$((c + 1)) > /tmp/ping$c 2>&1 & done
wait
for c in 0 1 2 3; do sed -n "s/.* \([0-9]*\) packets received.*/PINGS$c=\1/p" /tmp/ping$c; done
# Receive: the TAP picks the queue (replies mostly follow their request's
# queue, but not always); the host also sends 64 UDP flows, which it
# spreads by hash over the four, then says "go".
nc -l -p 7777 > /tmp/go &
echo MQ-UDP-NOW
for i in $(seq 600); do grep -q go /tmp/go 2>/dev/null && break; sleep 0.2; done
irq_in() { grep "input.$1\$" /proc/interrupts | awk '{s=0; for (i=2; i<=5; i++) s+=$i; print s}'; }
# "go" came on one queue; on a loaded host the other queues' frames may
# still be on their way (one I/O thread may serve several pairs, in turn):
# give them 20 s.
for i in $(seq 100); do
	n=0
	for q in 0 1 2 3; do [ "$(irq_in $q)" -gt 0 ] && n=$((n + 1)); done
	[ $n = 4 ] && break
	sleep 0.2
done
for q in 0 1 2 3; do echo IRQ_IN$q=$(irq_in $q); done
EOF
	} > "$T/guest.sh"
	initrd=$(script_initrd "$GUEST_INITRD" "$T/guest.sh")
	net_guest_start "$log" "$ns" --initrd "$initrd" --cpus 4 --memory 512M --name net-mq \
		--net tap=sdtapmq,queues=4 --log-level info
	wait_for "$log" MQ-UDP-NOW || { fail "the guest did not get to the receive part"; return 1; }
	ip netns exec "$ns" python3 - <<'PY' || { fail "could not send the UDP flows"; return 1; }
import socket, time
for port in range(9000, 9064):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x" * 32, ("10.0.0.9", port))
    s.close()
for _ in range(100):
    try:
        c = socket.create_connection(("10.0.0.9", 7777), timeout=2)
        c.sendall(b"go\n")
        c.close()
        break
    except OSError:
        time.sleep(0.2)
PY
	wait "$GUEST_PID"
	rc=$?
	expect_clean_run "$log" "$rc" || return 1
	[ "$(guest_value "$log" PING)" = 1 ] || fail "guest never reached the host" || return 1
	[ "$(guest_value "$log" QUEUES)" = 4 ] || fail "guest has $(guest_value "$log" QUEUES) queues" || return 1
	for q in 0 1 2 3; do
		[ "$(guest_value "$log" PINGS$q)" = 10 ] || fail "CPU $q: $(guest_value "$log" PINGS$q) pings answered" || return 1
		[ "$(guest_value "$log" IRQ_IN$q)" -gt 0 ] 2>/dev/null || { grep -aE "pair|IRQ_IN" "$log" >&2; fail "no interrupts on input.$q"; } || return 1
		grep -qE "virtio-net0: pair $q: rx [1-9][0-9]* packets, tx [1-9][0-9]* packets" "$log" ||
			fail "queue pair $q carried no traffic both ways: $(grep 'pair' "$log" | tr -d '\r')" || return 1
	done
}
