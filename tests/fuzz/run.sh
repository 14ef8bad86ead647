#!/bin/sh
# run.sh SECONDS BUILD_DIR TARGET... — runs each libFuzzer target
# BUILD_DIR/fuzz_TARGET for SECONDS seconds on a copy of its seed corpus
# (tests/fuzz/corpus/TARGET, so the repository's corpus is never
# modified) with its dictionary, and prints how many inputs it executed.
# A crash, leak or failed assertion leaves its input in
# BUILD_DIR/artifacts/TARGET/ and makes the script exit 1 once every
# target has run.
set -u

seconds=$1
build=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/wsgate-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

failed=""
for t in "$@"; do
	corpus="$work/corpus-$t"
	artifacts="$build/artifacts/$t"
	log="$build/fuzz_$t.log"
	mkdir -p "$corpus" "$artifacts"
	cp "$here/corpus/$t/"* "$corpus/"
	echo "== fuzz_$t: ${seconds}s"
	"$build/fuzz_$t" "$corpus" -dict="$here/fuzz_$t.dict" \
	    -max_total_time="$seconds" -timeout=25 -print_final_stats=1 \
	    -artifact_prefix="$artifacts/" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	echo "   executions: ${execs:-?}, exit status $rc"
	if [ "$rc" -ne 0 ]; then
		failed="$failed $t"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*Assertion)' \
		    "$log" | head -5
		ls "$artifacts" | sed "s|^|   input: $artifacts/|"
		echo "   full log: $log"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: failed:$failed" >&2
	exit 1
fi
