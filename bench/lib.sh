# Sourced by bench/*/run.sh.

# True where this host's /dev/kvm can run a Linux guest: hardware KVM (the
# CPU has vmx or svm) and not kvm_pvm.  Elsewhere a benchmark re-runs itself
# inside tests/box.
host_kvm_runs_linux() {
	grep -qwE 'vmx|svm' /proc/cpuinfo && [ ! -d /sys/module/kvm_pvm ]
}

# The box kernel's two TSC calibrations (quick at boot / refined ~2 s
# later), for a results header: a box whose KVM kept a quick one far off
# runs its guests 10-20x slower (tests/box/README.md), so a result must
# show it was taken in a sound box.
box_tsc() {
	local cal
	cal=$(dmesg 2>/dev/null | sed -nE 's/.*tsc: (Detected|Refined TSC clocksource calibration:) ([0-9.]+ MHz).*/\2/p' | paste -sd/)
	echo "TSC ${cal:-unknown} (quick/refined)"
}
