#!/bin/bash
# TCP request/response (1 byte each way, TCP_NODELAY) from a client in a
# namespace to an echo server in the guest (busybox nc -e cat), 8 s per
# measurement: sardine as it is ("a") against the same binary with
# SARDINE_IO_SCHED=normal ("b"), guest idle and guest busy (a shell loop
# spinning on its vCPU), 2 rounds.  Run it in the box, where the I/O
# thread and the vCPU share one CPU:
#   tests/box/box --cpus 1 --mem 3G --scratch-size 0 -- bench/net/rr.sh
# Prints a line per measurement: transactions/s, p50 and p99 latency.
set -eu
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd); g=$repo/build/guest
work=$(mktemp -d)
mkdir -p $work/r/test
cat > $work/r/test/run.sh <<'EOS'
ip addr add 10.0.0.2/24 dev eth0; ip link set eth0 up
nc -ll -p 7000 -e cat &
nc -ll -p 7002 -e /test/burn.sh &
echo NET-READY
while :; do sleep 3600; done
EOS
cat > $work/r/test/burn.sh <<'EOS'
#!/bin/sh
read -r secs
timeout "$secs" sh -c 'while :; do :; done'
EOS
chmod +x $work/r/test/*.sh
(cd $work/r && find test | cpio -o -H newc --quiet) > $work/x.cpio
cat $g/initramfs.cpio $work/x.cpio > $work/initrd.cpio
cat > $work/rr.py <<'EOS'
import socket, sys, time
s = socket.create_connection(("10.0.0.2", 7000)); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
n = 0; t0 = time.time(); lat = []
while time.time() - t0 < float(sys.argv[1]):
    a = time.time(); s.sendall(b"x"); s.recv(1); lat.append(time.time() - a); n += 1
lat.sort()
print("RR %.0f/s p50 %.2f ms p99 %.2f ms" % (n / (time.time() - t0), lat[len(lat)//2]*1e3, lat[int(len(lat)*0.99)]*1e3))
EOS
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; wait; ip netns del rr-a 2>/dev/null; ip netns del rr-b 2>/dev/null; rm -rf $work' EXIT
for v in a b; do
  ip netns add rr-$v; ip -n rr-$v link set lo up
  e=X=1; [ $v = b ] && e=SARDINE_IO_SCHED=normal
  ip netns exec rr-$v env $e $repo/build/sardine run --kernel $g/vmlinux --initrd $work/initrd.cpio --memory 512M --name rr-$v --net tap=tap0 --cmdline "console=ttyS0 quiet panic=-1" > $work/$v.log 2>&1 < /dev/null &
  pids+=($!)
  for i in $(seq 300); do ip -n rr-$v link show tap0 >/dev/null 2>&1 && break; sleep 0.2; done
  ip -n rr-$v addr add 10.0.0.1/24 dev tap0; ip -n rr-$v link set tap0 up
done
for v in a b; do for i in $(seq 600); do grep -q NET-READY $work/$v.log && ip netns exec rr-$v busybox ping -c1 -W2 10.0.0.2 >/dev/null 2>&1 && break; sleep 0.5; done; done
for r in 1 2; do
  for v in a b; do
    echo "$v idle round $r: $(ip netns exec rr-$v python3 $work/rr.py 8)"
    (echo 12 | ip netns exec rr-$v busybox nc 10.0.0.2 7002 >/dev/null 2>&1 &) ; sleep 2
    echo "$v busy round $r: $(ip netns exec rr-$v python3 $work/rr.py 8)"
    sleep 3
  done
done
