# Shared folders (virtio-9p): a guest whose root file system is a host
# directory, a read-only share beside it, escape attempts, and the mapped
# security model served by an ordinary user.  Two boots in all: each runs
# many checks in the guest, then the host checks the same results on disk.
# A third boot shows that a slow request does not hold back the others.
#
# The test guest's kernel has 9p as modules, so the kernel cannot mount a
# 9p root itself: a one-file initramfs (9p-root-init, appended to the
# guest's) loads the drivers, mounts the share named by root= with
# rootflags=, and switch_roots into it; the share is the test guest's own
# busybox tree, whose /init then runs /test/run.sh from the share.

HERE9P=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NINEP_OPTS="trans=virtio,version=9p2000.L,msize=512000"

teardown() {
	[ -n "${BASE9P:-}" ] && rm -rf "$BASE9P"
	[ -n "${SLOW_MNT:-}" ] && umount "$SLOW_MNT" 2>/dev/null
	[ -n "${SLOW_DM:-}" ] && dmsetup remove --noudevsync "$SLOW_DM" 2>/dev/null
	[ -n "${SLOW_LOOP:-}" ] && losetup -d "$SLOW_LOOP" 2>/dev/null
	SLOW_MNT= SLOW_DM= SLOW_LOOP=
	return 0
}

# A directory for shares on a file system with user xattrs (the box's
# /scratch is ext4; its /tmp is a tmpfs without them on the box's kernel).
share_base() {
	local d
	for d in "${SARDINE_SCRATCH:-/scratch}" "$T"; do
		[ -d "$d" ] && [ -w "$d" ] || continue
		BASE9P=$(mktemp -d "$d/sardine-9p.XXXXXX") || continue
		if touch "$BASE9P/probe" && "$(helper)" setx "$BASE9P/probe" user.probe 1 2>/dev/null; then
			rm -f "$BASE9P/probe"
			chmod 755 "$BASE9P"
			return 0
		fi
		rm -rf "$BASE9P"
	done
	return 1
}

# The static helper (xattrs, locks, mmap, renameat2), built once a session.
helper() {
	local out=$SESSION_DIR/9p-helper
	if [ ! -x "$out" ]; then
		cc -static -O2 -o "$out.tmp" "$HERE9P/9p-helper.c" >&2 && mv "$out.tmp" "$out"
	fi
	echo "$out"
}

# The test guest's tree as a root file system, with the helper and a script.
make_root() {
	local root=$1 script=$2
	mkdir -p "$root"
	(cd "$root" && cpio -idm --quiet < "$GUEST_INITRD") || return 1
	mkdir -p "$root/usr/local/bin"
	install -m 755 "$(helper)" "$root/usr/local/bin/9p-helper" || return 1
	mkdir -p "$root/test" "$root/data" "$root/ro"
	install -m 755 "$script" "$root/test/run.sh"
}

# The initramfs that mounts root= over 9p and switch_roots into it.
root_initrd() {
	local dir=$T/rootinit out=$T/rootinit.cpio
	mkdir -p "$dir"
	cat > "$dir/init" <<'INIT'
#!/bin/sh
# Boots from a 9p share with a kernel whose 9p support is modules: takes
# the parameters a kernel with 9p built in would (root=TAG rootfstype=9p
# rootflags=trans=virtio,...), mounts the share and switch_roots into it.
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev
for m in virtio_pci 9pnet_virtio 9p; do modprobe "$m"; done
root= flags=trans=virtio
for a in $(cat /proc/cmdline); do
    case $a in
        root=*) root=${a#root=} ;;
        rootflags=*) flags=${a#rootflags=} ;;
        --) break ;;
    esac
done
mkdir -p /newroot
if ! mount -t 9p -o "$flags" "$root" /newroot; then
    echo "9P-ROOT: cannot mount '$root' ($flags)"
    poweroff -f
fi
umount /dev /proc
exec switch_root /newroot /init
INIT
	chmod 755 "$dir/init"
	(cd "$dir" && echo init | cpio -o -H newc --quiet) > "$dir.extra" || return 1
	cat "$GUEST_INITRD" "$dir.extra" > "$out"
	chmod 644 "$out"
	echo "$out"
}

passthrough_script() {
	cat > "$T/run.sh" <<'SCRIPT'
H=/usr/local/bin/9p-helper
say() { echo "$1=$2"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none ro /ro || say RO_MOUNT failed
say ROOTFS "$(awk '$2 == "/" { print $3 }' /proc/mounts | tail -1)"
# 100 MB through the share: read from the host's file, written back with
# fsync, then read back from the server (no guest cache) and hashed
cp /src100 /data/big && sync /data/big && say BIG_SYNC ok
echo 3 > /proc/sys/vm/drop_caches
say BIG_SHA "$(sha /data/big)"
# many small files
mkdir /data/small
i=0
while [ $i -lt 300 ]; do echo "small $i" > /data/small/f$i; i=$((i + 1)); done
say SMALL_COUNT "$(ls /data/small | wc -l)"
say SMALL_F123 "$(cat /data/small/f123)"
# rename across directories, a file and a directory
mkdir /data/a /data/b
echo moved > /data/a/r && mv /data/a/r /data/b/r2
mkdir /data/a/sub && echo deep > /data/a/sub/x && mv /data/a/sub /data/b/sub2
say RENAME "$(cat /data/b/r2) $(cat /data/b/sub2/x) $(ls /data/a | wc -l)"
# hard link and symlink
ln /data/b/r2 /data/hl && say HL_NLINK "$(stat -c %h /data/hl)"
ln -s r2 /data/b/sl && say SL "$(readlink /data/b/sl) $(cat /data/b/sl)"
# ownership and modes (chown first: it clears set-id bits)
echo p > /data/perm && chown 1234:5678 /data/perm && chmod 4751 /data/perm
say PERM "$(stat -c '%a %u %g' /data/perm)"
# truncate up and down
echo 0123456789 > /data/trunc && truncate -s 100000 /data/trunc && say TRUNC_UP "$(stat -c %s /data/trunc)"
truncate -s 5 /data/trunc && say TRUNC_DOWN "$(stat -c %s /data/trunc) $(cat /data/trunc)"
# directory trees made and removed
mkdir -p /data/tree/a/b/c/d /data/tree/e/f && touch /data/tree/e/f/g
rmdir /data/tree/a/b/c/d /data/tree/a/b/c && rm -r /data/tree/e
say TREE "$(find /data/tree | sort | tr '\n' ' ')"
# fsync
echo durable > /data/synced && sync /data/synced && say FSYNC ok
# xattrs
$H setx /data/perm user.sardine hello-xattr && say XATTR "$($H getx /data/perm user.sardine)"
say XATTR_LIST "$($H listx /data/perm | tr '\n' ' ')"
# a lock the host holds
say LOCK "$($H trylock /data/locked)"
# a FIFO (the guest's own pipe; the host sees a FIFO)
mkfifo /data/fifo && say FIFO "$(stat -c %F /data/fifo)"
# escapes: links pointing out, and ".." above the root
hits=0
for p in /escape_abs/secret /escape_rel/secret /../outside/secret /../../secret /ro/out/secret; do
    case "$(cat "$p" 2>/dev/null)" in *HOSTSECRET*) hits=$((hits + 1)) ;; esac
done
say ESCAPE_HITS $hits
# a directory and an outward link swapped by the host while we walk
i=0 hits=0 inside=0
while [ $i -lt 200 ]; do
    case "$(cat /ro/race/secret 2>/dev/null)" in
        *HOSTSECRET*) hits=$((hits + 1)) ;;
        inside) inside=$((inside + 1)) ;;
    esac
    i=$((i + 1))
done
say RACE "$hits $inside"
# the read-only share
say RO_READ "$(cat /ro/file)"
w=0
(echo x > /ro/new) 2>/dev/null && w=$((w + 1))
(echo x >> /ro/file) 2>/dev/null && w=$((w + 1))
touch /ro/file 2>/dev/null && w=$((w + 1))
mkdir /ro/dir 2>/dev/null && w=$((w + 1))
rm -f /ro/file 2>/dev/null; [ -e /ro/file ] || w=$((w + 1))
mv /ro/file /ro/file2 2>/dev/null && w=$((w + 1))
chmod 777 /ro/file 2>/dev/null && w=$((w + 1))
ln -s x /ro/sl 2>/dev/null && w=$((w + 1))
say RO_WRITES $w
say RO_EROFS "$( (echo x > /ro/new) 2>&1 | grep -c 'Read-only file system')"
# find over the whole tree
sync
say FIND "$(find / -xdev | wc -l)"
SCRIPT
	echo "$T/run.sh"
}

# One of the long ones: ~2x its one-CPU-box time, for a loaded host.
# time limit: test_root_share_passthrough 900
test_root_share_passthrough() {
	local log=$T/log rc root ro initrd h holder swapper
	h=$(helper) || { fail "cannot build the helper"; return 1; }
	share_base || { fail "no directory with user xattrs for the shares"; return 1; }
	root=$BASE9P/root ro=$BASE9P/ro
	make_root "$root" "$(passthrough_script)" || { fail "cannot make the root tree"; return 1; }
	head -c 100M /dev/urandom > "$root/src100"
	touch "$root/data/locked"
	mkdir -p "$BASE9P/outside" "$ro/race.d"
	echo HOSTSECRET > "$BASE9P/outside/secret"
	echo inside > "$ro/race.d/secret"
	ln -s "$BASE9P/outside" "$root/escape_abs"
	ln -s ../outside "$root/escape_rel"
	ln -s "$BASE9P/outside" "$ro/out"
	ln -s "$BASE9P/outside" "$ro/race"
	echo readonly > "$ro/file"
	initrd=$(root_initrd) || { fail "cannot make the 9p root initrd"; return 1; }

	local GUEST_TIMEOUT=1500 # 100 MB copied and hashed under emulation
	"$h" holdlock "$root/data/locked" "$GUEST_TIMEOUT" > "$T/holder" &
	holder=$!
	BG_PIDS+=("$holder")
	"$h" swap "$ro/race.d" "$ro/race" "$GUEST_TIMEOUT" > "$T/swaps" &
	swapper=$!
	BG_PIDS+=("$swapper")
	guest_run "$log" --initrd "$initrd" --memory 512M \
		--share "$root:root" --share "$ro:ro,ro" \
		--append "root=root rootfstype=9p rootflags=$NINEP_OPTS,cache=loose"
	rc=$?
	kill -INT "$swapper" "$holder" 2>/dev/null
	wait "$swapper" "$holder"
	expect_clean_run "$log" "$rc" || return 1

	local v
	[ "$(guest_value "$log" ROOTFS)" = 9p ] || fail "root is $(guest_value "$log" ROOTFS), not 9p" || return 1
	v=$(sha256sum "$root/src100" | cut -d' ' -f1)
	[ "$(guest_value "$log" BIG_SYNC)" = ok ] || fail "100 MB copy or fsync failed" || return 1
	[ "$(guest_value "$log" BIG_SHA)" = "$v" ] || fail "guest sha256 $(guest_value "$log" BIG_SHA), want $v" || return 1
	[ "$(sha256sum "$root/data/big" | cut -d' ' -f1)" = "$v" ] || fail "host copy of the 100 MB file differs" || return 1
	[ "$(guest_value "$log" SMALL_COUNT)" = 300 ] || fail "guest sees $(guest_value "$log" SMALL_COUNT) small files" || return 1
	[ "$(ls "$root/data/small" | wc -l)" = 300 ] || fail "host sees $(ls "$root/data/small" | wc -l) small files" || return 1
	[ "$(cat "$root/data/small/f123")" = "small 123" ] || fail "small file content on the host" || return 1
	[ "$(guest_value "$log" SMALL_F123)" = "small 123" ] || fail "small file content in the guest" || return 1
	[ "$(guest_value "$log" RENAME)" = "moved deep 0" ] || fail "rename: $(guest_value "$log" RENAME)" || return 1
	[ -f "$root/data/b/r2" ] && [ ! -e "$root/data/a/r" ] && [ -f "$root/data/b/sub2/x" ] ||
		fail "renames not seen on the host" || return 1
	[ "$(guest_value "$log" HL_NLINK)" = 2 ] || fail "hard link count $(guest_value "$log" HL_NLINK)" || return 1
	[ "$(stat -c %i "$root/data/hl")" = "$(stat -c %i "$root/data/b/r2")" ] || fail "hard link is not one inode on the host" || return 1
	[ "$(guest_value "$log" SL)" = "r2 moved" ] || fail "symlink: $(guest_value "$log" SL)" || return 1
	[ "$(readlink "$root/data/b/sl")" = r2 ] || fail "symlink on the host: $(readlink "$root/data/b/sl")" || return 1
	[ "$(guest_value "$log" PERM)" = "4751 1234 5678" ] || fail "guest mode/owner: $(guest_value "$log" PERM)" || return 1
	[ "$(stat -c '%a %u %g' "$root/data/perm")" = "4751 1234 5678" ] ||
		fail "host mode/owner: $(stat -c '%a %u %g' "$root/data/perm")" || return 1
	[ "$(guest_value "$log" TRUNC_UP)" = 100000 ] || fail "truncate up: $(guest_value "$log" TRUNC_UP)" || return 1
	[ "$(guest_value "$log" TRUNC_DOWN)" = "5 01234" ] || fail "truncate down: $(guest_value "$log" TRUNC_DOWN)" || return 1
	[ "$(stat -c %s "$root/data/trunc")" = 5 ] || fail "host size after truncate" || return 1
	[ "$(guest_value "$log" TREE)" = "/data/tree /data/tree/a /data/tree/a/b " ] ||
		fail "tree: $(guest_value "$log" TREE)" || return 1
	[ "$(cd "$root/data" && find tree | sort | tr '\n' ' ')" = "tree tree/a tree/a/b " ] || fail "tree on the host" || return 1
	[ "$(guest_value "$log" FSYNC)" = ok ] && [ "$(cat "$root/data/synced")" = durable ] || fail "fsync'd file" || return 1
	[ "$(guest_value "$log" XATTR)" = hello-xattr ] || fail "xattr in the guest: $(guest_value "$log" XATTR)" || return 1
	[ "$("$h" getx "$root/data/perm" user.sardine)" = hello-xattr ] || fail "xattr on the host" || return 1
	[ "$(guest_value "$log" XATTR_LIST)" = "user.sardine " ] || fail "xattr list: $(guest_value "$log" XATTR_LIST)" || return 1
	[ "$(cat "$T/holder")" = HELD ] || fail "host lock holder did not start" || return 1
	[ "$(guest_value "$log" LOCK)" = "SETLK=EAGAIN GETLK=W" ] ||
		fail "guest lock against the host's: $(guest_value "$log" LOCK)" || return 1
	[ "$(guest_value "$log" FIFO)" = fifo ] && [ -p "$root/data/fifo" ] || fail "FIFO" || return 1
	[ "$(guest_value "$log" ESCAPE_HITS)" = 0 ] || fail "the guest read a file outside the share" || return 1
	set -- $(guest_value "$log" RACE)
	[ "$1" = 0 ] || fail "$1 reads outside the share while racing a symlink swap" || return 1
	[ "$(cat "$T/swaps")" -gt 0 ] || fail "the host never swapped" || return 1
	note "race: $2 of 200 reads inside, $(cat "$T/swaps") swaps, none outside"
	[ "$(guest_value "$log" RO_READ)" = readonly ] || fail "read-only share unreadable" || return 1
	[ "$(guest_value "$log" RO_WRITES)" = 0 ] || fail "$(guest_value "$log" RO_WRITES) writes got into the read-only share" || return 1
	[ "$(guest_value "$log" RO_EROFS)" = 1 ] || fail "writes to the read-only share do not fail with EROFS" || return 1
	[ "$(cat "$ro/file")" = readonly ] && [ ! -e "$ro/new" ] && [ ! -e "$ro/dir" ] || fail "read-only share changed" || return 1
	[ "$(guest_value "$log" FIND)" = "$(find "$root" -xdev | wc -l)" ] ||
		fail "find: guest $(guest_value "$log" FIND), host $(find "$root" -xdev | wc -l)"
}

mapped_script() {
	cat > "$T/run.sh" <<'SCRIPT'
H=/usr/local/bin/9p-helper
say() { echo "$1=$2"; }
say UID "$(id -u)"
say ROOTFS "$(awk '$2 == "/" { print $3 }' /proc/mounts | tail -1)"
echo o > /data/owned && chown 4242:4343 /data/owned && chmod 4750 /data/owned
mknod /data/null c 1 3
ln -s /etc/hostname /data/sl
mkdir /data/dir && chown 1000:1001 /data/dir && chmod 0700 /data/dir
mkfifo /data/fifo
echo n > /data/new
# what the guest sees must come from the server, not its caches
echo 3 > /proc/sys/vm/drop_caches
say OWNED "$(stat -c '%u %g %a %f' /data/owned)"
say NODE "$(stat -c '%F %t %T %f' /data/null)"
echo discard > /data/null && say NODE_WRITE ok
say SL "$(readlink /data/sl)"
say DIR "$(stat -c '%u %g %a %F' /data/dir)"
say FIFO "$(stat -c '%F %f' /data/fifo)"
say NEW "$(stat -c '%u %g %a' /data/new)"
say MMAP "$($H mmapw /data/mm)"
SCRIPT
	echo "$T/run.sh"
}

# security=mapped, served by an ordinary user: the guest's root owns its
# files, device nodes are device nodes, and on the host all of it is the
# user's own private files with the guest's view in user.virtfs.* xattrs.
test_root_share_mapped_unprivileged() {
	local log=$T/log rc root initrd h
	h=$(helper) || { fail "cannot build the helper"; return 1; }
	share_base || { fail "no directory with user xattrs for the shares"; return 1; }
	root=$BASE9P/root
	make_root "$root" "$(mapped_script)" || { fail "cannot make the root tree"; return 1; }
	chown -R 65534:65534 "$root"
	initrd=$(root_initrd) || { fail "cannot make the 9p root initrd"; return 1; }
	chmod 755 "$T"
	local GUEST_TIMEOUT=600
	guest_command --initrd "$initrd" --memory 512M --share "$root:root,security=mapped" \
		--append "root=root rootfstype=9p rootflags=$NINEP_OPTS,cache=mmap"
	setpriv --reuid=65534 --regid=65534 --clear-groups "${GUEST_CMD[@]}" > "$log" 2>&1 </dev/null
	rc=$?
	expect_clean_run "$log" "$rc" || return 1

	local v d=$root/data
	[ "$(guest_value "$log" UID)" = 0 ] || fail "guest uid $(guest_value "$log" UID)" || return 1
	[ "$(guest_value "$log" ROOTFS)" = 9p ] || fail "root is not 9p" || return 1
	# the guest's view
	[ "$(guest_value "$log" OWNED)" = "4242 4343 4750 89e8" ] || fail "owned: $(guest_value "$log" OWNED)" || return 1
	[ "$(guest_value "$log" NODE)" = "character special file 1 3 21a4" ] || fail "node: $(guest_value "$log" NODE)" || return 1
	[ "$(guest_value "$log" NODE_WRITE)" = ok ] || fail "writing the guest's /dev/null node" || return 1
	[ "$(guest_value "$log" SL)" = /etc/hostname ] || fail "symlink: $(guest_value "$log" SL)" || return 1
	[ "$(guest_value "$log" DIR)" = "1000 1001 700 directory" ] || fail "dir: $(guest_value "$log" DIR)" || return 1
	[ "$(guest_value "$log" FIFO)" = "fifo 11a4" ] || fail "fifo: $(guest_value "$log" FIFO)" || return 1
	[ "$(guest_value "$log" NEW)" = "0 0 644" ] || fail "new file: $(guest_value "$log" NEW)" || return 1
	[ "$(guest_value "$log" MMAP)" = ok ] || fail "shared mapping write (cache=mmap)" || return 1
	# the host's: our own private files, the guest's view in xattrs
	for f in owned null sl fifo new mm; do
		[ -f "$d/$f" ] && [ ! -L "$d/$f" ] && [ "$(stat -c '%u %g' "$d/$f")" = "65534 65534" ] ||
			fail "host $f: $(stat -c '%u %g %F' "$d/$f")" || return 1
	done
	[ "$(stat -c '%u %a %F' "$d/dir")" = "65534 700 directory" ] || fail "host dir: $(stat -c '%u %a %F' "$d/dir")" || return 1
	[ "$(stat -c %a "$d/owned")" = 600 ] || fail "host mode of owned: $(stat -c %a "$d/owned")" || return 1
	[ "$("$h" getu32 "$d/owned" user.virtfs.uid)" = 4242 ] || fail "user.virtfs.uid" || return 1
	[ "$("$h" getu32 "$d/owned" user.virtfs.gid)" = 4343 ] || fail "user.virtfs.gid" || return 1
	[ "$("$h" getu32 "$d/owned" user.virtfs.mode)" = $((16#89e8)) ] || fail "user.virtfs.mode of owned" || return 1
	[ "$("$h" getu32 "$d/null" user.virtfs.mode)" = $((16#21a4)) ] || fail "user.virtfs.mode of null" || return 1
	[ "$("$h" getu64 "$d/null" user.virtfs.rdev)" = 259 ] || fail "user.virtfs.rdev of null" || return 1
	[ "$(cat "$d/sl")" = /etc/hostname ] || fail "host content of the symlink" || return 1
	[ "$("$h" getu32 "$d/dir" user.virtfs.uid)" = 1000 ] || fail "user.virtfs.uid of dir" || return 1
	[ "$("$h" getu32 "$d/new" user.virtfs.uid)" = 0 ] || fail "user.virtfs.uid of a new file"
}

# One slow request (an fsync on a disk whose writes take 4 s each, dm-delay)
# must not hold back the requests made while it runs: reads of other files
# finish before it.  With the driver's notifications left off while a
# request is served, they waited behind it.
test_slow_request_does_not_stall_others() {
	local log=$T/slow.log rc img=$T/slow.img dir=$T/slowfs reads_line slow_line
	command -v dmsetup >/dev/null || { fail "dmsetup is not installed"; return 1; }
	truncate -s 64M "$img" && mkfs.ext4 -q -F "$img" || { fail "mkfs"; return 1; }
	SLOW_LOOP=$(losetup -f --show "$img") || { fail "losetup"; return 1; }
	SLOW_DM=sardine-slow-$$
	# No udev in the box: no sync with it, and the node made here.
	dmsetup create --noudevsync "$SLOW_DM" --table \
		"0 $(blockdev --getsz "$SLOW_LOOP") delay $SLOW_LOOP 0 0 $SLOW_LOOP 0 4000" ||
		{ SLOW_DM=; fail "dmsetup create (dm_delay)"; return 1; }
	dmsetup mknodes "$SLOW_DM" || { fail "dmsetup mknodes"; return 1; }
	mkdir -p "$dir"
	mount -o noatime "/dev/mapper/$SLOW_DM" "$dir" || { fail "mount"; return 1; }
	SLOW_MNT=$dir
	for i in 1 2 3 4 5; do echo "file $i" > "$dir/f$i"; done
	# The script is on the share (the kernel passes init 32 words at most).
	cat > "$dir/run.sh" <<'SCRIPT'
(dd if=/dev/zero of=/mnt/big bs=1M count=8 conv=fsync 2>/dev/null; echo SLOW-DONE) &
sleep 2
echo "READS=$(for i in 1 2 3 4 5; do cat /mnt/f$i; done | grep -c file)"
echo READS-DONE
wait
SCRIPT
	guest_run "$log" --share "$dir:t" -- mount -t 9p -o "$NINEP_OPTS,cache=none" t /mnt "&&" sh /mnt/run.sh
	rc=$?
	expect_clean_run "$log" "$rc" || return 1
	[ "$(guest_value "$log" READS)" = 5 ] || fail "the reads did not see the files" || return 1
	reads_line=$(grep -n READS-DONE "$log" | head -1 | cut -d: -f1)
	slow_line=$(grep -n SLOW-DONE "$log" | head -1 | cut -d: -f1)
	[ -n "$reads_line" ] && [ -n "$slow_line" ] || fail "missing READS-DONE or SLOW-DONE" || return 1
	[ "$reads_line" -lt "$slow_line" ] || fail "the reads waited for the slow fsync" || return 1
	[ "$(stat -c %s "$dir/big")" = 8388608 ] || fail "the slow file has $(stat -c %s "$dir/big") bytes"
}
