#!/bin/bash
# Every benchmark: bench/run-all.sh BUILD_DIR  (make bench runs it)
# Each bench/<topic>/run.sh runs where KVM can run Linux guests: directly on
# such a host, else inside tests/box (QEMU/TCG with nested KVM), with
# bench/results shared read-write.  Results: bench/results/<topic>.md.
set -u
build=$(cd "${1:-build}" && pwd)
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$repo/bench/results"
desc="$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), Linux $(uname -r)"
status=0
for bench in "$repo"/bench/*/run.sh; do
	echo "# $(basename "$(dirname "$bench")")"
	if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -c /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then
		BENCH_HOST_DESC="$desc" "$bench" "$build" || status=1
	else
		"$repo/tests/box/box" --mem "${BOX_MEM:-8G}" --timeout "${BOX_TIMEOUT:-3000}" \
			--out "$repo/bench/results" --env BENCH_HOST_DESC="$desc (benchmarks ran inside tests/box)" \
			-- "$bench $build" || status=1
	fi
done
exit $status
