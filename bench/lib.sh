# Sourced by bench/*/run.sh.

# True where this host's /dev/kvm can run a Linux guest: hardware KVM (the
# CPU has vmx or svm) and not kvm_pvm.  Elsewhere a benchmark re-runs itself
# inside tests/box.
host_kvm_runs_linux() {
	grep -qwE 'vmx|svm' /proc/cpuinfo && [ ! -d /sys/module/kvm_pvm ]
}

# box_tsc, for the results header of a benchmark run in the box.
. "$(dirname "${BASH_SOURCE[0]}")/../tests/box/lib.sh"
