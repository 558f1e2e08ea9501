#!/bin/bash
# make run: boot the default guest (build/guest) to a shell on this
# terminal.  Where this host's KVM cannot run Linux (kvm_pvm, or no KVM),
# sardine runs inside tests/box, with the console on this terminal; the
# escape is the same: Ctrl-A x quits.
set -eu
sardine=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Keep the guest shell: no command, stay up until poweroff or Ctrl-A x.
args=(run --cpus "${CPUS:-2}" --memory "${MEMORY:-512M}" "$@")
if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -c /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then
	exec "$sardine" "${args[@]}"
fi
if [ ! -t 0 ]; then
	echo "make run: this host's KVM cannot run Linux, and the box needs a terminal for an interactive guest" >&2
	exit 2
fi
echo "# This host's KVM cannot run Linux guests: booting in tests/box (QEMU with nested KVM), ~1 minute." >&2
echo "# Ctrl-A x quits the guest." >&2
exec "$here/box/box" --interactive --scratch-size 0 --mem 4G -- "$sardine ${args[*]}"
