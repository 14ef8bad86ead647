# scale.awk: the worker-scaling line of compare.sh from its raw results
# (the "scale" runs: wsgate with one worker pinned to the proxy core,
# wsgate-2w with two workers on every core).
#
#   awk -f scale.awk results

function val(k) {
	return (k in f) ? f[k] + 0 : 0
}

$0 ~ /work=scale / && $0 !~ /failed=1/ {
	split("", f)
	for (i = 1; i <= NF; i++) {
		eq = index($i, "=")
		f[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	p = f["proxy"]
	n[p]++
	rate[p] += val("msgs_per_s")
	load[p] += val("self_cpu_pct") + val("backend_cpu_pct")
}

END {
	if (!n["wsgate"] || !n["wsgate-2w"] || rate["wsgate"] == 0) {
		print "workers: no scaling figure (runs missing or failed)"
		exit
	}
	printf "workers: 2 workers carried %.2fx the messages/s of 1 worker " \
	    "(64 B, W=16);\n", (rate["wsgate-2w"] / n["wsgate-2w"]) / \
	    (rate["wsgate"] / n["wsgate"])
	printf "the load generator and backend used %.0f%% of a core with 2 " \
	    "workers (%.0f%% with 1):\nnear 100, they, not wsgate, set the " \
	    "rate.\n", load["wsgate-2w"] / n["wsgate-2w"],
	    load["wsgate"] / n["wsgate"]
}
