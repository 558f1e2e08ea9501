#!/bin/bash
# tests/guest/build.sh [-q] OUTDIR
#
# Builds sardine's test guest (also its default guest) out of Debian packages:
#   OUTDIR/vmlinuz         Debian's generic amd64 kernel (bzImage)
#   OUTDIR/vmlinux         the same, uncompressed (ELF, PVH entry): QEMU
#                          boots it ~4 s faster under emulation/nesting
#   OUTDIR/initramfs.cpio  busybox, virtio/9p/vsock/ext4 modules, tests/guest/init
#   OUTDIR/tools.cpio      fio, iperf3, socat, e2fsprogs (mkfs.ext4, e2fsck, ...),
#                          util-linux's fstrim and blkdiscard, in /usr/local,
#                          with all their libraries; tests that need them
#                          append it: cat initramfs.cpio tools.cpio > x.cpio
#                          (busybox sh runs its own applets before searching
#                          PATH: call /usr/local/sbin/{mke2fs,fstrim,blkdiscard}
#                          by full path to get the real ones.)
#   OUTDIR/packages.txt    the exact package versions used
# Both archives are uncompressed: decompressing is slow in an emulated CPU.
# Nothing is done when the package versions and these scripts are unchanged
# (-q: not even a message then).  SARDINE_CACHE: download cache (default
# ~/.cache/sardine); SARDINE_KERNEL_PKG: kernel package to use.
set -eu
LOG_TAG=guest
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

quiet=
if [ "${1:-}" = -q ]; then quiet=1; shift; fi
[ $# -eq 1 ] || { echo "usage: $0 [-q] OUTDIR" >&2; exit 2; }
out=$1

# Drivers for the devices a VMM offers a test guest.  virtio_mmio is for
# VMMs without PCI, crc32c_* for ext4's checksums (a softdep, so not in
# modules.dep; crc32c_intel loads where the CPU has SSE4.2).
GUEST_MODULES=(virtio_pci virtio_mmio virtio_blk virtio_net virtio_console
               virtio_balloon virtio_rng 9p 9pnet_virtio
               vmw_vsock_virtio_transport ext4 crc32c_generic crc32c_intel)
# What init loads at boot: the virtio device drivers (nothing else binds
# them).  File systems, vsock and crc32c load when first used, through the
# kernel's request_module -> busybox modprobe -> modules.dep/alias; loading
# ext4 & co. eagerly cost ~2/3 of the boot under emulation.
EAGER_MODULES=(virtio_pci virtio_blk virtio_net virtio_console virtio_balloon
               virtio_rng 9pnet_virtio)
# tools.cpio: these files (as the packages place them) and what they need.
TOOL_PKGS=(fio iperf3 socat e2fsprogs util-linux libc6)
TOOL_FILES=(usr/bin/fio usr/bin/iperf3 usr/bin/socat sbin/mke2fs sbin/mkfs.ext4 sbin/e2fsck
            sbin/fsck.ext4 sbin/resize2fs sbin/tune2fs sbin/dumpe2fs
            sbin/fstrim sbin/blkdiscard)
TOOL_DATA=(etc/mke2fs.conf)
INPUTS=("$here/build.sh" "$here/lib.sh" "$here/init")

# Up to date when the stamp names the same inputs: these scripts and the
# current versions of the packages used last time (packages.txt), the
# kernel being the one apt would pick now.
kpkg=$(kernel_pkg)
if [ -f "$out/.stamp" ] && grep -q "^$kpkg " "$out/packages.txt" 2>/dev/null &&
   [ -f "$out/vmlinuz" ] && [ -f "$out/vmlinux" ] && [ -f "$out/initramfs.cpio" ] &&
   [ -f "$out/tools.cpio" ]; then
    mapfile -t now < <(pkg_versions $(cut -d' ' -f1 "$out/packages.txt"))
    if [ "$(inputs_key "${INPUTS[@]}" -- "${now[@]}")" = "$(cat "$out/.stamp")" ]; then
        [ -n "$quiet" ] || log "up to date: $out"
        exit 0
    fi
fi

mkdir -p "$out"
rm -f "$out/.stamp"
work=$(mktemp -d "$out/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Package trees by name, fetched (one apt-get call per batch) and unpacked.
declare -A tree=()
add_pkgs() {
    local n v specs=() lines
    lines=$(pkg_versions "$@")
    [ -n "$lines" ] || return 0
    while read -r n v; do specs+=("$n=$v"); done <<<"$lines"
    fetch_debs "${specs[@]}"
    while read -r n v; do
        if [ "$n" = "$kpkg" ]; then tree[$n]=$(kernel_tree "$n" "$v")
        else tree[$n]=$(unpack_deb "$(deb_file "$n" "$v")"); fi
    done <<<"$lines"
}

add_pkgs "$kpkg" busybox-static "${TOOL_PKGS[@]}"
for p in "$kpkg" busybox-static "${TOOL_PKGS[@]}"; do
    [ -n "${tree[$p]:-}" ] || die "package $p: not in the apt lists nor in $DEB_CACHE"
done
ktree=${tree[$kpkg]}
krel=$(kernel_release "$ktree")
log "building $out: kernel $krel"

# --- vmlinuz and initramfs.cpio
cp "$ktree/boot/vmlinuz-$krel" "$work/vmlinuz"
cp "$(kernel_vmlinux "$ktree" "$krel")" "$work/vmlinux"
root=$work/initramfs
busybox_tree "${tree[busybox-static]}/bin/busybox" "$root"
modules_tree "$ktree" "$krel" "$root" "${GUEST_MODULES[@]}"
module_closure "$ktree" "$krel" "${EAGER_MODULES[@]}" > "$root/etc/modules.order"
mkdir -p "$root"/{dev,proc,sys,tmp,run,root,mnt,etc}
install -m 755 "$here/init" "$root/init"
printf '127.0.0.1\tlocalhost sardine\n::1\tlocalhost\n' > "$root/etc/hosts"
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
make_cpio "$root" "$work/initramfs.cpio"

# --- tools.cpio
# Which package holds a missing library is found by following the
# Depends of the packages that provided files so far, one level per round,
# until every DT_NEEDED is found.  Packages that provide nothing (python3,
# debconf, ...) are downloaded but never followed, which keeps this small.
pkg_of() { local b=${1##*/}; echo "${b%%_*}"; }
while :; do
    closure=$(elf_closure "${tree[@]}" -- "${TOOL_FILES[@]}") || exit 1
    missing=$(awk -F'\t' '$1 == "-" { print $2 }' <<<"$closure")
    [ -n "$missing" ] || break
    deps=()
    for t in $(awk -F'\t' '$1 != "-" { print $1 }' <<<"$closure" | sort -u); do
        deps+=($(dpkg-deb -f "$DEB_CACHE/${t##*/}.deb" Pre-Depends Depends |
                 sed 's/^[A-Za-z-]*: //' | tr ',' '\n' |
                 sed 's/|.*//; s/(.*)//; s/:[a-z0-9]*//; s/[[:space:]]//g'))
    done
    new=()
    for d in $(printf '%s\n' "${deps[@]}" | sort -u); do
        [ -n "${tree[$d]:-}" ] || new+=("$d")
    done
    before=${#tree[@]}
    if [ ${#new[@]} -gt 0 ]; then add_pkgs "${new[@]}"; fi
    [ ${#tree[@]} -gt "$before" ] || die "cannot find: $(tr '\n' ' ' <<<"$missing")"
done
# The programs go to /usr/local/{bin,sbin}, first in the guest's PATH, so
# they never collide with busybox's links (busybox has mke2fs, fstrim and
# blkdiscard applets too).  Libraries keep their Debian paths.
troot=$work/tools
while IFS=$'\t' read -r t p; do
    if [[ " ${TOOL_FILES[*]} " != *" $p "* ]]; then
        copy_in "$t" "$p" "$troot"
        continue
    fi
    case $p in */sbin/*|sbin/*) to=usr/local/sbin/${p##*/} ;; *) to=usr/local/bin/${p##*/} ;; esac
    if [ -L "$t/$p" ] && [[ $(readlink "$t/$p") != */* ]]; then
        # A link to a sibling (mkfs.ext4 -> mke2fs) stays a link.
        mkdir -p "$troot/${to%/*}"
        cp -P "$t/$p" "$troot/$to"
    else
        copy_in "$t" "$p" "$troot" "$to"
    fi
done <<<"$closure"
for p in "${TOOL_DATA[@]}"; do
    copy_in "$(find_in_roots "$p" "${tree[@]}" | cut -f1)" "$p" "$troot"
done
make_cpio "$troot" "$work/tools.cpio"

# --- publish, then record what was used and stamp it
used=$( { echo "$kpkg"; echo busybox-static; printf '%s\n' "${TOOL_PKGS[@]}"
          cut -f1 <<<"$closure" | while read -r t; do pkg_of "$t"; done; } | sort -u)
pkg_versions $used > "$work/packages.txt"
mv "$work/vmlinuz" "$work/vmlinux" "$work/initramfs.cpio" "$work/tools.cpio" \
   "$work/packages.txt" "$out/"
mapfile -t now < "$out/packages.txt"
inputs_key "${INPUTS[@]}" -- "${now[@]}" > "$out/.stamp"
log "done: $(cd "$out" && du -h --apparent-size vmlinuz vmlinux initramfs.cpio tools.cpio |
                   awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')"
