#!/bin/bash
# tests/box/build.sh [-q] OUTDIR
#
# Builds the box (see tests/box/README.md) out of Debian packages:
#   OUTDIR/kernel          the same kernel as the test guest, uncompressed
#                          (ELF with a PVH entry: no slow decompression in
#                          the emulated CPU) or, lacking PVH, its bzImage
#   OUTDIR/initramfs.cpio  busybox, KVM/virtio/9p/ext4/net modules, tests/box/init
# Nothing is done when the package versions and the scripts are unchanged
# (-q: not even a message then).  tests/box/box calls this before each run.
set -eu
LOG_TAG=box
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../guest/lib.sh"

quiet=
if [ "${1:-}" = -q ]; then quiet=1; shift; fi
[ $# -eq 1 ] || { echo "usage: $0 [-q] OUTDIR" >&2; exit 2; }
out=$1

# kvm_amd: the box's emulated CPU is an EPYC with SVM.  9p: the host's root.
# virtio_blk + ext4: /scratch.  tun/bridge/veth: networking tests.
# loop: block devices for the host-block-device test and the 9p bench.
# dm_delay: a slow disk under a 9p share (a slow request must not stall).
BOX_MODULES=(kvm_amd virtio_pci 9p 9pnet_virtio virtio_blk virtio_rng ext4
             crc32c_generic crc32c_intel tun bridge veth loop dm_delay)
INPUTS=("$here/build.sh" "$here/init" "$here/../guest/lib.sh")

kpkg=$(kernel_pkg)
mapfile -t now < <(pkg_versions "$kpkg" busybox-static)
[ ${#now[@]} -eq 2 ] || die "$kpkg or busybox-static: not in the apt lists nor in $DEB_CACHE"
key=$(inputs_key "${INPUTS[@]}" -- "${now[@]}")
if [ "$(cat "$out/.stamp" 2>/dev/null)" = "$key" ] &&
   [ -f "$out/kernel" ] && [ -f "$out/initramfs.cpio" ]; then
    [ -n "$quiet" ] || log "up to date: $out"
    exit 0
fi

mkdir -p "$out"
rm -f "$out/.stamp"
work=$(mktemp -d "$out/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

read -r _ kver <<<"${now[0]}"
read -r _ bbver <<<"${now[1]}"
fetch_debs "$kpkg=$kver" "busybox-static=$bbver"
ktree=$(kernel_tree "$kpkg" "$kver")
bbtree=$(unpack_deb "$(deb_file busybox-static "$bbver")")
krel=$(kernel_release "$ktree")
log "building $out: kernel $krel"

root=$work/initramfs
busybox_tree "$bbtree/bin/busybox" "$root"
modules_tree "$ktree" "$krel" "$root" "${BOX_MODULES[@]}"
mkdir -p "$root"/{dev,proc,sys,tmp,run,etc,host,ctl,newroot}
install -m 755 "$here/init" "$root/init"
make_cpio "$root" "$work/initramfs.cpio"
vmlinux=$(kernel_vmlinux "$ktree" "$krel")
if has_pvh "$vmlinux"; then cp "$vmlinux" "$work/kernel"
else cp "$ktree/boot/vmlinuz-$krel" "$work/kernel"; fi

mv "$work/kernel" "$work/initramfs.cpio" "$out/"
echo "$key" > "$out/.stamp"
log "done: $(du -h --apparent-size "$out/initramfs.cpio" | cut -f1) initramfs"
