# shellcheck shell=bash
# Helpers shared by tests/guest/build.sh and tests/box/build.sh (sourced, bash).
#
# Both build small Linux systems out of Debian packages only.  Packages are
# fetched with `apt-get download` into a cache keyed by their exact version,
# so nothing is downloaded twice and a build works offline once the cache
# holds what it needs.  Unpacked packages are cached next to them because the
# kernel package alone unpacks to ~400 MB and takes seconds to extract.

SARDINE_CACHE=${SARDINE_CACHE:-${HOME:-/root}/.cache/sardine}
DEB_CACHE=$SARDINE_CACHE/debs
UNPACK_CACHE=$SARDINE_CACHE/unpacked

# Hosts set up like Docker images disable apt's binary cache, which makes
# every apt-cache call re-parse all package lists (~1 s).  A private cache
# keeps the "is the build up to date?" check well under a second; apt
# rebuilds it by itself whenever the lists change (apt-get update).
APT_OPTS=(-o "Dir::Cache::pkgcache=$SARDINE_CACHE/apt/pkgcache.bin"
          -o "Dir::Cache::srcpkgcache=$SARDINE_CACHE/apt/srcpkgcache.bin")

log() { printf '%s: %s\n' "${LOG_TAG:-sardine}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

apt_cache() {
    command -v apt-cache >/dev/null || return 1
    mkdir -p "$SARDINE_CACHE/apt"
    apt-cache "${APT_OPTS[@]}" "$@"
}

# deb_file NAME VERSION: path of the cached .deb, if any.  apt-get download
# names files NAME_VERSION_ARCH.deb with the epoch colon written as %3a.
deb_file() {
    local f
    for f in "$DEB_CACHE/$1_${2//:/%3a}_"*.deb; do
        [ -e "$f" ] && { echo "$f"; return 0; }
    done
    return 1
}

# cached_version NAME: newest version of NAME in the cache (offline fallback).
cached_version() {
    local f v best=''
    for f in "$DEB_CACHE/$1"_*.deb; do
        [ -e "$f" ] || continue
        v=${f##*/}; v=${v#"$1"_}; v=${v%_*.deb}; v=${v//%3a/:}
        if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then
            best=$v
        fi
    done
    [ -n "$best" ] && echo "$best"
}

# pkg_versions NAME...: "NAME VERSION" per package, VERSION being apt's
# candidate or, when apt knows nothing (no lists, offline), the newest cached
# one.  Packages found nowhere are left out; callers check.  One apt-cache
# call for all names keeps this fast.
pkg_versions() {
    local name ver n v
    local -A cand=()
    while read -r n v; do cand[$n]=$v; done < <(
        apt_cache policy "$@" 2>/dev/null |
            awk '/^[^ ].*:$/ { sub(/:$/, ""); n = $0 }
                 /^  Candidate:/ && $2 != "(none)" { print n, $2 }')
    for name; do
        ver=${cand[$name]:-}
        [ -n "$ver" ] || ver=$(cached_version "$name") || continue
        printf '%s %s\n' "$name" "$ver"
    done
}

# fetch_debs NAME=VERSION...: make sure these exact packages are cached,
# downloading the missing ones with a single apt-get call.
fetch_debs() {
    local spec tmp missing=()
    for spec; do
        deb_file "${spec%%=*}" "${spec#*=}" >/dev/null || missing+=("$spec")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "downloading ${missing[*]}"
    mkdir -p "$DEB_CACHE"
    tmp=$(mktemp -d "$DEB_CACHE/.download.XXXXXX")
    # Sandbox::User=root: root's apt otherwise warns that the _apt user
    # cannot write into our cache directory.
    if ! (cd "$tmp" && apt-get "${APT_OPTS[@]}" -qq -o APT::Sandbox::User=root \
              download "${missing[@]}"); then
        rm -rf "$tmp"
        die "apt-get download failed (offline and not cached?): ${missing[*]}"
    fi
    mv "$tmp"/*.deb "$DEB_CACHE"/
    rmdir "$tmp"
}

# unpack_deb DEB [HOOK]: directory holding DEB's files, unpacked once into the
# cache.  HOOK runs on the fresh tree before it is published; the rename
# makes concurrent builds safe (the loser just drops its copy).
unpack_deb() {
    local dir tmp
    dir=$UNPACK_CACHE/$(basename "$1" .deb)
    if [ ! -d "$dir" ]; then
        mkdir -p "$UNPACK_CACHE"
        tmp=$(mktemp -d "$UNPACK_CACHE/.unpack.XXXXXX")
        dpkg-deb -x "$1" "$tmp" || { rm -rf "$tmp"; die "cannot unpack $1"; }
        if [ -n "${2:-}" ]; then "$2" "$tmp" || { rm -rf "$tmp"; die "$2 failed on $1"; }; fi
        chmod 755 "$tmp"
        mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
    fi
    echo "$dir"
}

# pkg_dir NAME VERSION: fetch and unpack one exact package; prints its tree.
pkg_dir() {
    fetch_debs "$1=$2"
    unpack_deb "$(deb_file "$1" "$2")" "${3:-}"
}

# kernel_pkg: name of Debian's generic amd64 kernel image package.
kernel_pkg() {
    local p f v best='' bestv=''
    if [ -n "${SARDINE_KERNEL_PKG:-}" ]; then echo "$SARDINE_KERNEL_PKG"; return; fi
    p=$(apt_cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }') || true
    if [ -n "$p" ]; then echo "$p"; return; fi
    # No apt lists (offline box, stripped image): newest kernel in the cache.
    for f in "$DEB_CACHE"/linux-image-[0-9]*-amd64_*.deb; do
        [ -e "$f" ] || continue
        v=${f##*/}; p=${v%%_*}; v=${v#*_}; v=${v%_*.deb}; v=${v//%3a/:}
        if [ -z "$bestv" ] || dpkg --compare-versions "$v" gt "$bestv"; then
            best=$p; bestv=$v
        fi
    done
    [ -n "$best" ] || die "cannot find the kernel package: no apt lists and none cached"
    echo "$best"
}

# The package ships no modules.dep (the maintainer script makes it), so make
# it once, when the kernel is unpacked into the cache.
_kernel_depmod() {
    local kver
    kver=$(ls "$1/lib/modules")
    depmod -b "$1" "$kver"
}

# kernel_tree PKG VERSION: unpacked kernel tree, with modules.dep.
kernel_tree() { pkg_dir "$1" "$2" _kernel_depmod; }

# kernel_release TREE: the kernel's uname -r (its module directory name).
kernel_release() { ls "$1/lib/modules"; }

# kernel_vmlinux TREE KREL: the uncompressed kernel (ELF), extracted from the
# bzImage once.  Decompressing Debian's xz kernel at boot takes ~4 s in an
# emulated or nested CPU; QEMU boots the ELF directly through its PVH entry.
kernel_vmlinux() {
    local bz=$1/boot/vmlinuz-$2 out=$1/boot/vmlinux-$2 off
    if [ ! -f "$out" ]; then
        off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bz" | head -1 | cut -d: -f1)
        [ -n "$off" ] || die "no xz-compressed kernel in $bz"
        tail -c +$((off + 1)) "$bz" | xz -dc --single-stream > "$out.$$" &&
            readelf -h "$out.$$" >/dev/null 2>&1 || { rm -f "$out.$$"; die "cannot extract $bz"; }
        mv "$out.$$" "$out"
    fi
    echo "$out"
}

# has_pvh ELF: whether the kernel has a PVH entry point (Xen note 18),
# which QEMU needs to boot an ELF kernel.
has_pvh() { readelf -n "$1" | grep -q 'note type: (0x00000012)'; }

# module_closure TREE KREL NAME...: paths (relative to the module directory)
# of the named modules and everything they depend on, each after its
# dependencies, so insmod can load them in that order.  Names may use - or _.
# Built-in modules are skipped; unknown names are an error.
module_closure() {
    local mdir=$1/lib/modules/$2
    shift 2
    awk -v want="$*" '
        function key(p) { sub(/.*\//, "", p); sub(/\.ko(\.[a-z]+)?$/, "", p); gsub(/-/, "_", p); return p }
        function visit(m,   d, n, i) {
            if (m in seen) return
            seen[m] = 1
            n = split(deps[m], d, " ")
            for (i = 1; i <= n; i++) visit(d[i])
            print m
        }
        FILENAME ~ /modules\.builtin$/ { builtin[key($1)] = 1; next }
        { m = $1; sub(/:$/, "", m); path[key(m)] = m; $1 = ""; deps[m] = $0 }
        END {
            n = split(want, w, " ")
            for (i = 1; i <= n; i++) {
                k = key(w[i])
                if (k in path) visit(path[k])
                else if (!(k in builtin)) { print "unknown module " w[i] > "/dev/stderr"; bad = 1 }
            }
            exit bad
        }' "$mdir/modules.builtin" "$mdir/modules.dep"
}

# root_path ROOT PATH: PATH (relative to ROOT) with symlinks followed inside
# ROOT, not on the host: packages hold absolute links (/lib64/ld-linux...).
root_path() {
    local p=$2 t n=0
    while [ -L "$1/$p" ]; do
        t=$(readlink "$1/$p")
        case $t in /*) p=$t ;; *) p=$(dirname "$p")/$t ;; esac
        p=$(realpath -ms "/$p"); p=${p#/}
        n=$((n + 1)); [ $n -lt 40 ] || return 1
    done
    [ -e "$1/$p" ] && echo "$p"
}

# Where the Debian loader looks by default (no ld.so.cache in our images).
LIB_DIRS=(lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64 lib usr/lib)

# find_in_roots PATH ROOT...: "ROOT<tab>PATH" for the first package tree
# holding PATH (links resolved inside the tree); fails if none does.
find_in_roots() {
    local p=$1 r
    shift
    for r; do
        # Cheap tests first: this runs for every library x directory x tree.
        if [ -e "$r/$p" ] || [ -L "$r/$p" ]; then
            root_path "$r" "$p" >/dev/null && { printf '%s\t%s\n' "$r" "$p"; return 0; }
        fi
    done
    return 1
}

# elf_closure ROOT... -- PATH...: every file needed to run the ELF programs
# PATH (relative to the package trees ROOT...): the programs themselves,
# their program interpreter and shared libraries, recursively (DT_NEEDED,
# honouring RUNPATH/RPATH).  Prints "ROOT<tab>PATH" per file, and
# "-<tab>SONAME" for each library found in none of the trees.
elf_closure() {
    local roots=() queue=() item root rel real so d dirs hit info origin
    local -A seen=()
    while [ "$1" != -- ]; do roots+=("$1"); shift; done
    shift
    for rel; do
        hit=$(find_in_roots "$rel" "${roots[@]}") || die "no package provides /$rel"
        queue+=("$hit")
    done
    while [ ${#queue[@]} -gt 0 ]; do
        item=${queue[0]}; queue=("${queue[@]:1}")
        root=${item%%$'\t'*}; rel=${item#*$'\t'}
        printf '%s\n' "$item"
        real=$(root_path "$root" "$rel")
        info=$(readelf -dlW "$root/$real" 2>/dev/null) || continue   # not ELF
        # The interpreter is a path, not a soname.
        so=$(sed -n 's/.*program interpreter: \/\(.*\)\]/\1/p' <<<"$info")
        if [ -n "$so" ] && [ -z "${seen[$so]:-}" ]; then
            seen[$so]=1
            if hit=$(find_in_roots "$so" "${roots[@]}"); then queue+=("$hit")
            else printf -- '-\t/%s\n' "$so"; fi
        fi
        # Search order of ld.so: RUNPATH/RPATH ($ORIGIN: the file's own
        # directory), then the default directories.
        dirs=()
        origin=/$(dirname "$rel")
        for d in $(sed -n 's/.*(R[UN]*PATH).*\[\(.*\)\]/\1/p' <<<"$info" | tr : ' '); do
            d=${d//\$\{ORIGIN\}/$origin}; d=${d//\$ORIGIN/$origin}
            d=$(realpath -ms "$d"); dirs+=("${d#/}")
        done
        dirs+=("${LIB_DIRS[@]}")
        for so in $(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$info"); do
            [ -z "${seen[$so]:-}" ] || continue
            seen[$so]=1
            hit=
            for d in "${dirs[@]}"; do
                hit=$(find_in_roots "$d/$so" "${roots[@]}") && break
            done
            if [ -n "$hit" ]; then queue+=("$hit"); else printf -- '-\t%s\n' "$so"; fi
        done
    done
}

# copy_in ROOT PATH DEST [TO]: copy ROOT/PATH to DEST/TO (default: PATH),
# dereferencing links inside ROOT (libraries land under their soname).
copy_in() {
    local real to=${4:-$2}
    real=$(root_path "$1" "$2") || die "cannot resolve $1/$2"
    mkdir -p "$3/$(dirname "$to")"
    cp --preserve=mode "$1/$real" "$3/$to"
}

# busybox_tree BUSYBOX DEST: busybox as /bin/busybox plus a link per applet.
busybox_tree() {
    local a
    mkdir -p "$2/bin"
    cp "$1" "$2/bin/busybox"
    chmod 755 "$2/bin/busybox"
    for a in $("$2/bin/busybox" --list-full); do
        [ "$a" = bin/busybox ] && continue
        mkdir -p "$2/$(dirname "$a")"
        ln -sf /bin/busybox "$2/$a"
    done
}

# unsign_module KO: drop the module's appended signature.  Checking it costs
# ~1 s per boot in an emulated CPU, and Debian's kernel loads unsigned
# modules anyway (it only enforces signatures under Secure Boot), merely
# tainting itself (E).  Layout: module, signature, 12-byte struct
# module_signature ending in the signature's big-endian length, magic.
unsign_module() {
    local magic='~Module signature appended~' len
    printf '%s\n' "$magic" | cmp -s - <(tail -c 28 "$1") || return 0
    len=$(tail -c 32 "$1" | head -c 4 | od -An -tu1 |
          awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
    truncate -s $(($(stat -c %s "$1") - 28 - 12 - len)) "$1"
}

# modules_tree KTREE KREL DEST NAME...: the modules NAME... and their
# dependencies under DEST/lib/modules/KREL, a modules.dep for them (so
# modprobe works too), and DEST/etc/modules.order, the list init loads.
modules_tree() {
    local ktree=$1 krel=$2 dest=$3 m order
    shift 3
    order=$(module_closure "$ktree" "$krel" "$@") || die "module lookup failed"
    mkdir -p "$dest/etc" "$dest/lib/modules/$krel"
    for m in $order; do
        mkdir -p "$dest/lib/modules/$krel/$(dirname "$m")"
        cp "$ktree/lib/modules/$krel/$m" "$dest/lib/modules/$krel/$m"
        unsign_module "$dest/lib/modules/$krel/$m"
    done
    cp "$ktree/lib/modules/$krel/modules.builtin" \
       "$ktree/lib/modules/$krel/modules.builtin.modinfo" "$dest/lib/modules/$krel/"
    printf '%s\n' "$order" > "$dest/lib/modules/$krel/modules.order"
    depmod -b "$dest" "$krel"
    cp "$dest/lib/modules/$krel/modules.order" "$dest/etc/modules.order"
}

# make_cpio DIR OUT: uncompressed newc archive of DIR's contents, owned by
# root.  Uncompressed because decompressing is slow in an emulated CPU.
# Fixed timestamps make the same inputs give the same bytes.
make_cpio() {
    find "$1" -exec touch -h -d @0 {} +
    (cd "$1" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
         cpio -o -H newc -R 0:0 --reproducible --quiet) > "$2.tmp"
    mv "$2.tmp" "$2"
}

# inputs_key FILE... -- "NAME VERSION"...: hash naming one build's inputs.
inputs_key() {
    local files=()
    while [ "$1" != -- ]; do files+=("$1"); shift; done
    shift
    { sha256sum "${files[@]}" | cut -d' ' -f1; printf '%s\n' "$@"; } | sha256sum | cut -d' ' -f1
}
