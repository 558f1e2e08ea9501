#!/bin/bash
# make bench: every benchmark, one after the other.  Each bench/<topic>/run.sh
# runs itself where it must (the box, when this host's KVM cannot run Linux
# guests) and writes bench/results/<topic>.md.  BENCH=boot,net runs a subset.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
status=0
for topic in exits boot blk net 9p density; do
	case ",${BENCH:-$topic}," in *",$topic,"*) ;; *) continue ;; esac
	[ -x "$here/$topic/run.sh" ] || continue
	echo "### bench/$topic"
	if ! "$here/$topic/run.sh" "$build"; then
		echo "bench/$topic failed" >&2
		status=1
	fi
done
exit $status
