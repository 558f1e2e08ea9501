# Shared helpers for sardine's real-guest tests (bash; sourced by every
# test file and by tests/integration/run.sh).
#
# A test file tests/integration/NN-topic.sh defines functions named test_*;
# run.sh sources it and calls each, in file order, counting results.  A test
# function returns 0 for pass, non-zero for fail, and reports why with
# `fail "reason"` (which prints and returns 1).  Everything a test creates
# lives under $T (a fresh directory per test, removed afterwards) and every
# process it starts is stopped by PID in the teardown.

: "${SARDINE:?SARDINE must point at the sardine binary}"
: "${GUEST_DIR:?GUEST_DIR must point at the built test guest}"
# The uncompressed kernel boots through PVH, ~30% faster than the bzImage
# under the box's emulation; the boot tests use the bzImage ($GUEST_BZIMAGE).
GUEST_KERNEL=$GUEST_DIR/vmlinux
GUEST_BZIMAGE=$GUEST_DIR/vmlinuz
GUEST_INITRD=$GUEST_DIR/initramfs.cpio
# Per-boot timeout; generous because the box runs everything under TCG.
GUEST_TIMEOUT=${GUEST_TIMEOUT:-240}
# Quiet kernel: serial output costs an exit per character.
GUEST_CMDLINE_BASE=${GUEST_CMDLINE_BASE:-"console=ttyS0 quiet panic=-1"}

fail() {
	echo "#   FAIL: $*" >&2
	return 1
}

note() {
	echo "#   $*" >&2
}

# Initrd with the tools (fio, iperf3, e2fsprogs) appended, built once.
tools_initrd() {
	local out=$SESSION_DIR/initrd-tools.cpio
	[ -f "$out" ] || cat "$GUEST_INITRD" "$GUEST_DIR/tools.cpio" > "$out"
	echo "$out"
}

# script_initrd BASE SCRIPT_FILE -> an initrd that runs SCRIPT_FILE as
# /test/run.sh (the guest's init runs it when no command is given).
script_initrd() {
	local base=$1 script=$2 dir out
	dir=$(mktemp -d "$T/cpio.XXXX")
	mkdir -p "$dir/test"
	cp "$script" "$dir/test/run.sh"
	chmod +x "$dir/test/run.sh"
	out=$dir.cpio
	(cd "$dir" && find test | cpio -o -H newc --quiet) > "$dir/extra.cpio"
	cat "$base" "$dir/extra.cpio" > "$out"
	echo "$out"
}

# guest_command [sardine run options...] [-- GUEST COMMAND...]
# Sets GUEST_CMD to the command line that boots the test guest; the guest
# command (after --) runs in the guest, its output goes to the console.
# Without --initrd the default guest initrd is used; --append adds kernel
# parameters; --cmdline is built here.
guest_command() {
	local args=() cmd= have_initrd=0 extra_cmdline=
	while [ $# -gt 0 ]; do
		case $1 in
			--) shift; cmd="$*"; break ;;
			--initrd) have_initrd=1; args+=("$1" "$2"); shift ;;
			--append) extra_cmdline="$extra_cmdline $2"; shift ;;
			*) args+=("$1") ;;
		esac
		shift
	done
	[ $have_initrd = 1 ] || args+=(--initrd "$GUEST_INITRD")
	local cmdline="$GUEST_CMDLINE_BASE$extra_cmdline"
	[ -n "$cmd" ] && cmdline="$cmdline -- $cmd"
	GUEST_CMD=(timeout --kill-after=10 "$GUEST_TIMEOUT"
		   "$SARDINE" run --kernel "$GUEST_KERNEL" "${args[@]}" --cmdline "$cmdline")
}

# guest_run LOG [options as guest_command]: boots and waits; console and
# sardine's messages go to LOG.  Returns sardine's exit status (124: it
# timed out and was killed).
guest_run() {
	local log=$1
	shift
	guest_command "$@"
	"${GUEST_CMD[@]}" >"$log" 2>&1 </dev/null
}

# guest_start LOG [options as guest_command]: the same in the background;
# GUEST_PID is the PID to signal (timeout passes signals on to sardine).
# The teardown stops it if the test does not.
guest_start() {
	local log=$1
	shift
	guest_command "$@"
	# Its own process group (setsid: same PID), so the teardown can stop
	# timeout and sardine together.
	( exec setsid "${GUEST_CMD[@]}" >"$log" 2>&1 </dev/null ) &
	GUEST_PID=$!
	BG_PIDS+=("$GUEST_PID")
}

# wait_for LOG PATTERN [SECONDS]: until a line matches (grep -E).  The
# deadline is wall-clock time ($SECONDS): under emulation each poll is slow.
wait_for() {
	wait_count "$1" "$2" 1 "${3:-$GUEST_TIMEOUT}"
}

# wait_count LOG PATTERN N [SECONDS]: until N lines match.
wait_count() {
	local log=$1 pat=$2 want=$3 deadline=$((SECONDS + ${4:-$GUEST_TIMEOUT})) n
	while [ $SECONDS -lt $deadline ]; do
		n=$(grep -cE -- "$pat" "$log" 2>/dev/null) # nothing while LOG does not exist
		[ "${n:-0}" -ge "$want" ] && return 0
		sleep 0.5
	done
	tail -n 20 "$log" 2>/dev/null | sed 's/^/#     | /' >&2
	return 1
}

# log_tails DIR: the last lines of each log a failed test left in DIR.
log_tails() {
	local f
	for f in "$1"/*log*; do
		[ -f "$f" ] && [ -s "$f" ] || continue
		echo "#   last lines of $(basename "$f"):"
		tail -n 8 "$f" | sed 's/^/#     | /'
	done
}

# The guest's exit line, e.g. "SARDINE-GUEST-EXIT 0".
guest_exit_status() {
	sed -n 's/.*SARDINE-GUEST-EXIT \([0-9]*\).*/\1/p' "$1" | tail -1
}

# expect_log LOG PATTERN DESCRIPTION
expect_log() {
	grep -qE -- "$2" "$1" || { tail -n 30 "$1" | sed 's/^/#     | /' >&2; fail "$3"; }
}

# A guest that ran its command to the end: READY, EXIT 0, sardine exit 0.
expect_clean_run() {
	local log=$1 rc=$2
	expect_log "$log" SARDINE-GUEST-READY "guest never got to userspace" || return 1
	[ "$(guest_exit_status "$log")" = 0 ] ||
		{ tail -n 30 "$log" | sed 's/^/#     | /' >&2; fail "guest command failed"; return 1; }
	[ "$rc" = 0 ] || fail "sardine exited with $rc"
}

# Value printed by the guest as "KEY=value".
guest_value() {
	sed -n "s/^$2=//p" "$1" | tr -d '\r' | tail -1
}

# stop_pid PID: SIGTERM, then SIGKILL after 5 s, to PID and, when PID
# leads a process group (started with setsid), to the whole group.
stop_pid() {
	local pid=$1 i target=$1
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	[ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$pid" ] && target=-$pid
	kill -TERM -- "$target" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "$target" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# bg PIDVAR COMMAND...: start COMMAND in its own process group, in the
# background, and have the teardown stop it.
bg() {
	local var=$1
	shift
	# <&0: an explicit stdin, else bash gives a background job /dev/null
	setsid "$@" <&0 &
	printf -v "$var" '%s' $!
	BG_PIDS+=($!)
}

# ---- the REST API (tests/integration/60-api.sh, 70-density.sh)

# api SOCKET METHOD ENDPOINT [BODY]: prints the HTTP status; body in $T/body.
api() {
	local sock=$1 method=$2 ep=$3
	if [ $# -ge 4 ]; then
		curl -s -m 60 --unix-socket "$sock" -X "$method" -H 'Content-Type: application/json' \
			--data-binary "$4" -o "$T/body" -w '%{http_code}' "http://localhost/api/v1/$ep"
	else
		curl -s -m 60 --unix-socket "$sock" -X "$method" -o "$T/body" -w '%{http_code}' \
			"http://localhost/api/v1/$ep"
	fi
}

expect_api() {
	local want=$1 got
	shift
	got=$(api "$@")
	[ "$got" = "$want" ] || fail "$2 $3: HTTP $got, wanted $want: $(cat "$T/body" 2>/dev/null)"
}

# json EXPR: a Python expression on the JSON in $T/body (as j).
json() {
	python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($1)" "$T/body"
}

# The kernel's Landlock ABI (0: none), and what vm.info's sandbox.landlock
# should say under the default --landlock auto (sardine needs ABI 2).
landlock_abi() {
	python3 -c 'import ctypes; print(max(ctypes.CDLL(None).syscall(444, None, 0, 1), 0))'
}
landlock_expected() {
	[ "$(landlock_abi)" -ge 2 ] && echo on || echo off
}
