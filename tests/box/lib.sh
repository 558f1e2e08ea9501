# Sourced by tests/run-suite.sh and bench/lib.sh, inside tests/box: what a
# test log or a benchmark result says about the box it ran in.

# The box kernel's two TSC calibrations (quick at boot / refined ~2 s
# later).  A box whose KVM kept a quick one far off runs its guests 10-20x
# slower (tests/box/README.md), so a result shows it was taken in a sound box.
box_tsc() {
	local cal
	cal=$(dmesg 2>/dev/null | sed -nE 's/.*tsc: (Detected|Refined TSC clocksource calibration:) ([0-9.]+ MHz).*/\2/p' | paste -sd/)
	echo "TSC ${cal:-unknown} (quick/refined)"
}
