#!/usr/bin/env bash
# Integration test runner: runs every tests/integration/test_*.py against
# the real ./wsgate with Debian's /usr/bin/python3, one file at a time,
# each under a hard timeout.  Prints PASS/FAIL per file, the output of a
# failing file only (it includes the daemon logs of its failing tests),
# the lines a passing file starts with "note: " (figures, paths),
# and a final "N passed, M failed" line counting test functions (a file
# that dies before reporting counts as one failure); exit status 1 if any
# failed.
#
#   tests/integration/run.sh                   # all files
#   tests/integration/run.sh test_echo.py      # some files
#   WSGATE=/path/to/wsgate tests/integration/run.sh
set -u

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py=/usr/bin/python3
file_timeout="${WSGATE_FILE_TIMEOUT:-180}"
export WSGATE="${WSGATE:-$root/wsgate}"
export PYTHONDONTWRITEBYTECODE=1

if [ ! -x "$WSGATE" ]; then
	echo "wsgate binary not found at $WSGATE (run: make wsgate)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
if ! "$py" -c 'import websockets' 2>/dev/null; then
	echo "$py cannot import websockets (apt-get install python3-websockets)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

if [ "$#" -gt 0 ]; then
	files=()
	for f in "$@"; do files+=("$here/$(basename "$f")"); done
else
	files=("$here"/test_*.py)
fi

passed=0
failed=0
files_failed=0
for f in "${files[@]}"; do
	name="$(basename "$f" .py)"
	out="$tmp/$name.out"
	start=$SECONDS
	(cd "$here" && timeout -k 10 "$file_timeout" "$py" "$f") >"$out" 2>&1
	rc=$?
	dur=$((SECONDS - start))
	# harness.main() ends with "N tests, M failed".
	counts=$(sed -n 's/^\([0-9][0-9]*\) tests, \([0-9][0-9]*\) failed.*/\1 \2/p' "$out" | tail -n 1)
	if [ -n "$counts" ]; then
		set -- $counts
		passed=$((passed + $1 - $2))
		failed=$((failed + $2))
		[ "$rc" -ne 0 ] && [ "$2" -eq 0 ] && failed=$((failed + 1))
	else
		failed=$((failed + 1))
	fi
	if [ "$rc" -eq 0 ]; then
		echo "PASS $name (${dur}s)"
		sed -n 's/^note: /    /p' "$out"
	else
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "FAIL $name (timed out after ${file_timeout}s)"
		else
			echo "FAIL $name (exit status $rc, ${dur}s)"
		fi
		sed 's/^/    /' "$out"
		files_failed=$((files_failed + 1))
	fi
done

echo "${#files[@]} files, $files_failed failed"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$files_failed" -eq 0 ]
