# table.awk: the table of compare.sh from its raw results, one line per
# wsgate-bench run: "round=R work=W proxy=P key=value ...".
#
#   awk -v order="w1:nginx w1:haproxy ..." -v labels="w1=echo 64B W=1;..." \
#       -f table.awk results
#
# Each row is the mean over the rounds of one (workload, proxy).  cost is
# the proxy's CPU per message or handshake (us; handshakes in the runs of
# mode=connect: connect, tls handshakes, tls resumed), or its RSS growth per
# idle connection (KiB); x_nginx and p99_x divide cost and p99 by those of
# nginx on the same workload (of haproxy-l4 on the tcp rows, marked *;
# of wsgate with one worker on the workers rows, marked +).
# Failed runs (failed=1) count in err only.

function val(k) {
	return (k in f) ? f[k] + 0 : 0
}

function mean(sum, k) {
	return sum[k] / n[k]
}

{
	split("", f)
	for (i = 1; i <= NF; i++) {
		eq = index($i, "=")
		f[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	k = f["work"] ":" f["proxy"]
	seen[k] = 1
	if (f["mode"] == "connect")
		hs[k] = 1
	if ("failed" in f) {
		errors[k] += val("errors") > 0 ? val("errors") : 1
		next
	}
	n[k]++
	errors[k] += val("errors")
	if (f["work"] == "idle") {
		rate = val("open")
		cost = val("kib_per_conn")
	} else {
		rate = f["mode"] == "connect" ? val("handshakes_per_s") : \
		    val("msgs_per_s")
		cost = val("proxy_cpu_us_per_op")
	}
	s_rate[k] += rate
	s_mb[k] += val("mb_per_s")
	s_p50[k] += val("p50_us")
	s_p99[k] += val("p99_us")
	s_pcpu[k] += val("proxy_cpu_pct")
	s_load[k] += val("self_cpu_pct") + val("backend_cpu_pct")
	s_cost[k] += cost
	if (!(k in cmin) || cost < cmin[k])
		cmin[k] = cost
	if (!(k in cmax) || cost > cmax[k])
		cmax[k] = cost
}

END {
	nl = split(labels, lv, ";")
	for (i = 1; i <= nl; i++) {
		eq = index(lv[i], "=")
		label[substr(lv[i], 1, eq - 1)] = substr(lv[i], eq + 1)
	}
	fmt = "%-23s %-10s %8s %7s %8s %8s %6s %8s %-8s %7s %6s %6s %5s %3s\n"
	printf fmt, "workload", "proxy", "rate/s", "MB/s", "p50_us", "p99_us",
	    "proxy%", "cost", "unit", "x_nginx", "p99_x", "spread", "load%",
	    "err"
	m = split(order, keys, " ")
	last = ""
	for (i = 1; i <= m; i++) {
		k = keys[i]
		if (!(k in seen))
			continue
		split(k, wp, ":")
		w = wp[1]
		if (last != "" && w != last)
			print ""
		last = w
		if (!(k in n)) {
			printf "%-23s %-10s every run failed (%d errors)\n",
			    label[w], wp[2], errors[k]
			continue
		}
		tcp = w ~ /^tcp/
		scale = w == "scale"
		ref = w ":" (tcp ? "haproxy-l4" : scale ? "wsgate" : "nginx")
		idle = w == "idle"
		c = mean(s_cost, k)
		x = "-"
		if ((ref in n) && mean(s_cost, ref) > 0)
			x = sprintf("%.2f%s", c / mean(s_cost, ref), \
			    tcp ? "*" : scale ? "+" : "")
		x99 = "-"
		if (!idle && (ref in n) && mean(s_p99, ref) > 0)
			x99 = sprintf("%.2f", mean(s_p99, k) / mean(s_p99, ref))
		unit = idle ? "KiB/conn" : (k in hs) ? "us/hs" : "us/msg"
		spread = c > 0 ? 100 * (cmax[k] - cmin[k]) / c : 0
		printf fmt, label[w], wp[2], sprintf("%.0f", mean(s_rate, k)),
		    (idle || (k in hs)) ? "-" : \
		    sprintf("%.1f", mean(s_mb, k)),
		    sprintf("%.1f", mean(s_p50, k)),
		    sprintf("%.1f", mean(s_p99, k)),
		    idle ? "-" : sprintf("%.0f", mean(s_pcpu, k)),
		    sprintf("%.2f", c), unit, x, x99,
		    sprintf("%.0f%%", spread),
		    idle ? "-" : sprintf("%.0f", mean(s_load, k)), errors[k]
	}
}
