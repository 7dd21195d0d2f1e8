#!/usr/bin/env python3
"""Writes the markdown results of bench/peers/run.sh to stdout: medians of the interleaved
rounds, ratios within the run, and issue 12's targets marked met or missed.

usage: report.py META_TSV RAW_TSV
RAW_TSV lines: load SCENARIO TARGET ROUND CONNS PROXY_USER|- PROXY_SYS|- ORIGIN CLIENT
                    MACHINE_BUSY MACHINE_TOTAL OUTPUT_FILE (wrk's or tls_load's)
                 (clock ticks over the run: the proxy's user and system time, the nginx origin
                 worker's, the load client's, and every core's busy and total ticks)
               rss TARGET ROUND N RSS_BEFORE_KIB RSS_AFTER_KIB
"""
import re
import statistics
import sys
from collections import defaultdict

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def parse_wrk(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    run = {"rps": None, "requests": None, "p99": None, "socket_errors": 0, "non_2xx": 0}
    if m := re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M):
        run["rps"] = float(m.group(1))
    if m := re.search(r"^\s+(\d+) requests in", text, re.M):
        run["requests"] = int(m.group(1))
    if m := re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$", text, re.M):
        run["p99"] = float(m.group(1)) * UNITS[m.group(2)]
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        run["socket_errors"] = sum(int(g) for g in m.groups())
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", text):
        run["non_2xx"] = int(m.group(1))
    return run


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=0):
    if v is None:
        return "–"
    return f"{v:,.{digits}f}"


def ratio(a, b):
    return None if a is None or not b else a / b


def explain_missed(fig, nproc):
    """One sentence of figures per missed target of issue 12: what a request costs, where, and
    what the target would need. Only targets measured and missed get a line."""
    lines = []

    def parts(scenario, name):
        return {k: fig(scenario, 64, name, k)
                for k in ("rps", "cpu_us", "user_us", "sys_us", "origin_us", "client_us",
                          "busy_cores")}

    p = parts("http", "purser")
    if p["cpu_us"] is not None and p["cpu_us"] > 20:
        o = p["origin_us"]
        text = (f"HTTP CPU per request: Purser spent {fmt(p['cpu_us'], 1)} µs, "
                f"{fmt(p['user_us'], 1)} in its own code and {fmt(p['sys_us'], 1)} in the kernel "
                "(reads and writes on the agent's socket and on the origin's, and the loopback TCP "
                "they drive).")
        if o is not None:
            text += (f" The origin, nginx serving a static 1 KiB file on one socket per request, "
                     f"spent {fmt(o, 1)} µs per request in the same runs; a proxy reads and writes "
                     f"two sockets per request, so twice that, {fmt(2 * o, 1)} µs, is what an "
                     "equally lean proxy would spend here.")
        lines.append(text)

    def throughput(label, scenario, peer, wanted):
        me, other = parts(scenario, "purser"), parts(scenario, peer)
        direct = parts(scenario, "direct")
        if not me["rps"] or not other["rps"] or me["rps"] >= wanted * other["rps"]:
            return
        busy = me["busy_cores"] or nproc
        spent = busy * 1e6 / me["rps"]  # machine µs per request in Purser's runs
        budget = busy * 1e6 / (wanted * other["rps"])
        known = sum(v for v in (me["cpu_us"], me["origin_us"], me["client_us"]) if v is not None)
        text = (f"{label}: {wanted}x {peer}'s {fmt(other['rps'])} req/s is "
                f"{fmt(wanted * other['rps'])} req/s. Purser's runs kept {fmt(busy, 2)} of "
                f"{nproc} cores busy, {fmt(spent, 1)} µs of machine CPU per request: Purser "
                f"{fmt(me['cpu_us'], 1)}, the origin {fmt(me['origin_us'], 1)}, the load client "
                f"{fmt(me['client_us'], 1)}, the rest {fmt(max(spent - known, 0), 1)}. The target "
                f"needs {fmt(budget, 1)} µs per request in all.")
        if other["cpu_us"] and other["busy_cores"]:
            text += (f" {peer} spent {fmt(other['cpu_us'], 1)} µs per request and kept "
                     f"{fmt(other['busy_cores'], 2)} cores busy")
            text += (" (one process with one thread does squid's work)." if peer == "squid"
                     else ".")
        if direct["rps"]:
            text += (f" With no proxy at all the same client and origin reached "
                     f"{fmt(direct['rps'])} req/s, {fmt(ratio(direct['rps'], other['rps']), 2)}x "
                     f"{peer}'s: the most any proxy could reach here.")
        lines.append(text)

    throughput("HTTPS keep-alive", "https-keepalive", "squid", 3)
    throughput("HTTPS keep-alive", "https-keepalive", "mitmproxy", 20)
    throughput("New connection per request", "https-close", "squid", 5)
    throughput("New connection per request", "https-close", "mitmproxy", 5)
    throughput("HTTP, 64 connections", "http", "squid", 2.5)
    return lines


def main():
    meta, packages = {}, []
    for line in open(sys.argv[1], encoding="utf-8"):
        f = line.rstrip("\n").split("\t")
        if f[0] == "package":
            packages.append((f[1], f[2]))
        else:
            meta[f[0]] = f[1]
    clk_tck = int(meta["clk_tck"])

    wrk = defaultdict(list)  # (scenario, conns, target) -> runs (wrk or tls_load)
    rss = defaultdict(list)  # (n, target) -> KiB per connection
    rss_abs = defaultdict(list)
    for line in open(sys.argv[2], encoding="utf-8"):
        f = line.rstrip("\n").split("\t")
        if f[0] == "load":
            _, scenario, target, _round, conns, user, system, origin, client, busy, total, path = f
            run = parse_wrk(path)

            def per_request(ticks):
                if ticks == "-" or not run["requests"]:
                    return None
                return int(ticks) * 1e6 / clk_tck / run["requests"]

            run["user_us"], run["sys_us"] = per_request(user), per_request(system)
            run["cpu_us"] = None if run["user_us"] is None else run["user_us"] + run["sys_us"]
            run["origin_us"], run["client_us"] = per_request(origin), per_request(client)
            # Cores busy over the run, of nproc: the whole machine, peers and neighbours included.
            run["busy_cores"] = int(busy) / int(total) * int(meta["nproc"]) if int(total) else None
            wrk[(scenario, int(conns), target)].append(run)
        elif f[0] == "rss":
            _, target, _round, n, before, after = f
            rss[(int(n), target)].append((int(after) - int(before)) / int(n))
            rss_abs[(int(n), target)].append((int(before), int(after)))

    def fig(scenario, conns, target, key):
        return median([r[key] for r in wrk.get((scenario, conns, target), [])])

    out = []
    w = out.append
    quick = meta.get("quick") == "1"
    w(f"# Purser against real peers: {meta['date']}{' (quick run)' if quick else ''}")
    w("")
    w("Written by `./run bench` (bench/peers/run.sh, bench/peers/report.py). Machine: "
      f"{meta['nproc']} cores, {meta['cpu']}, Linux {meta['kernel']}; load average at the end "
      f"{meta['load']} (the machine is shared). Purser at commit {meta['purser']}, built "
      "Release -O2 -DNDEBUG.")
    w("")
    w("Peers (Debian 12 packages): " + ", ".join(f"{p} {v}" for p, v in packages) + ".")
    w("")
    w(f"Method: everything on 127.0.0.1; an nginx origin (one worker) serving a 1 KiB static "
      f"file. Each figure is the median of {meta['rounds']} runs of {meta['duration']} s, the "
      "targets interleaved in rounds (round 1: A B C D, round 2: A B C D, ...). Proxy CPU per "
      "request from utime+stime of the proxy process in /proc/PID/stat over the run, divided by "
      "the requests completed (squid's certificate helper processes are not counted). HTTP: wrk "
      "with `--latency`. HTTPS: `bench/tls_load` (2 threads, the same summary as wrk), which sends "
      "CONNECT to the proxy itself and does a full TLS handshake through the tunnel, without "
      "verifying the certificate the proxy mints; each proxy verifies the origin's. No relay "
      "process sits in between (an earlier socat relay capped a new connection per request at "
      "about 170/s whatever the proxy). `direct` is the same client straight to nginx. With "
      "`--close` every request is a new TCP connection, CONNECT and handshake, and its latency "
      "counts from the TCP connect. Ratios are of the medians. non-2xx and socket errors are "
      "summed over the rounds; a read error is usually a server closing a connection after a "
      "response (tinyproxy does after each).")
    w("")

    targets = []  # (what, measured text, met or None)

    def target(what, value, text, ok):
        targets.append((what, text if value is not None else "not measured",
                        None if value is None else ok(value)))

    def table(title, scenario, conns, names, baseline):
        w(f"## {title}")
        w("")
        w("| target | req/s | p99 ms | proxy CPU µs/req | non-2xx | socket errors | req/s vs "
          + baseline + " |")
        w("|---|---|---|---|---|---|---|")
        base = fig(scenario, conns, baseline, "rps")
        for name in names:
            runs = wrk.get((scenario, conns, name))
            if not runs:
                continue
            rps = fig(scenario, conns, name, "rps")
            non_2xx = sum(r["non_2xx"] for r in runs)
            socket_errors = sum(r["socket_errors"] for r in runs)
            w(f"| {name} | {fmt(rps)} | {fmt(fig(scenario, conns, name, 'p99'), 2)} | "
              f"{fmt(fig(scenario, conns, name, 'cpu_us'), 1)} | {non_2xx} | {socket_errors} | "
              f"{fmt(ratio(rps, base), 2)}x |")
        w("")

    for conns in sorted({c for (s, c, _) in wrk if s == "http"}):
        table(f"HTTP forwarding, keep-alive, {conns} connection{'s' if conns > 1 else ''}",
              "http", conns, ["direct", "purser", "squid", "tinyproxy"], "squid")
    https_conns = sorted({c for (s, c, _) in wrk if s.startswith("https")})
    for conns in https_conns:
        table(f"HTTPS intercepted, keep-alive, {conns} connections", "https-keepalive", conns,
              ["direct", "purser", "squid", "mitmproxy"], "squid")
        table(f"HTTPS intercepted, a new connection and handshake per request, {conns} connections",
              "https-close", conns, ["direct", "purser", "squid", "mitmproxy"], "squid")

    # Where each request's CPU went: the machine is shared by the load client, the proxy and the
    # origin, so a proxy's rate depends on the other two as much as on itself.
    w("## Where the CPU goes, 64 connections")
    w("")
    w("Per request, over the same runs as the tables above (medians): the proxy's user and "
      "kernel (system) time, the nginx origin worker's CPU, the load client's (wrk or tls_load), "
      "and how many of the machine's cores were busy during the run (everything on the "
      "machine, neighbours included).")
    w("")
    w("| scenario | target | req/s | proxy user µs | proxy kernel µs | origin µs | client µs | "
      "cores busy |")
    w("|---|---|---|---|---|---|---|---|")
    for scenario in ["http", "https-keepalive", "https-close"]:
        for name in ["direct", "purser", "squid", "tinyproxy", "mitmproxy"]:
            if not wrk.get((scenario, 64, name)):
                continue
            w(f"| {scenario} | {name} | {fmt(fig(scenario, 64, name, 'rps'))} | "
              f"{fmt(fig(scenario, 64, name, 'user_us'), 1)} | "
              f"{fmt(fig(scenario, 64, name, 'sys_us'), 1)} | "
              f"{fmt(fig(scenario, 64, name, 'origin_us'), 1)} | "
              f"{fmt(fig(scenario, 64, name, 'client_us'), 1)} | "
              f"{fmt(fig(scenario, 64, name, 'busy_cores'), 2)} |")
    w("")

    if rss:
        w("## Memory per idle keep-alive client connection")
        w("")
        w("A fresh proxy per measurement; N clients each make one HTTP request through it (to an "
          "origin port that closes after each response, so the proxy holds only the client side) "
          "and then stay connected. Per connection = (VmRSS with N held - VmRSS after one request) "
          "/ N, median of the rounds.")
        w("")
        w("| connections | target | RSS before MiB | RSS with N held MiB | KiB per connection |")
        w("|---|---|---|---|---|")
        for (n, name) in sorted(rss):
            before = median([b for b, _ in rss_abs[(n, name)]])
            after = median([a for _, a in rss_abs[(n, name)]])
            w(f"| {n:,} | {name} | {fmt(before / 1024, 1)} | {fmt(after / 1024, 1)} | "
              f"{fmt(median(rss[(n, name)]), 1)} |")
        w("")

    # Issue 12's targets, from the 64-connection runs.
    h = "http"
    p_rps, s_rps = fig(h, 64, "purser", "rps"), fig(h, 64, "squid", "rps")
    r = ratio(p_rps, s_rps)
    target("HTTP, 64 connections: req/s at least 2.5x squid's", r, f"{fmt(r, 2)}x", lambda v: v >= 2.5)
    p99p, p99s = fig(h, 64, "purser", "p99"), fig(h, 64, "squid", "p99")
    target("HTTP, 64 connections: p99 no worse than squid's", p99p,
           f"{fmt(p99p, 2)} ms vs {fmt(p99s, 2)} ms", lambda v: p99s is not None and v <= p99s)
    cpu = fig(h, 64, "purser", "cpu_us")
    target("HTTP, 64 connections: CPU per request at most 20 µs", cpu, f"{fmt(cpu, 1)} µs", lambda v: v <= 20)
    k = "https-keepalive"
    p_k = fig(k, 64, "purser", "rps")
    r = ratio(p_k, fig(k, 64, "squid", "rps"))
    target("HTTPS keep-alive: req/s at least 3x squid ssl-bump's", r, f"{fmt(r, 2)}x", lambda v: v >= 3)
    r = ratio(p_k, fig(k, 64, "mitmproxy", "rps"))
    target("HTTPS keep-alive: req/s at least 20x mitmproxy's", r, f"{fmt(r, 2)}x", lambda v: v >= 20)
    p99p, p99s = fig(k, 64, "purser", "p99"), fig(k, 64, "squid", "p99")
    target("HTTPS keep-alive: p99 no worse than squid ssl-bump's", p99p,
           f"{fmt(p99p, 2)} ms vs {fmt(p99s, 2)} ms", lambda v: p99s is not None and v <= p99s)
    c = "https-close"
    p_c = fig(c, 64, "purser", "rps")
    r = ratio(p_c, fig(c, 64, "squid", "rps"))
    target("New connection per request: req/s at least 5x squid ssl-bump's", r, f"{fmt(r, 2)}x", lambda v: v >= 5)
    r = ratio(p_c, fig(c, 64, "mitmproxy", "rps"))
    target("New connection per request: req/s at least 5x mitmproxy's", r, f"{fmt(r, 2)}x", lambda v: v >= 5)
    per = median(rss.get((10000, "purser"), []))
    target("Under 20 KiB per idle connection at 10,000 connections", per, f"{fmt(per, 1)} KiB",
           lambda v: v < 20)

    w("## Issue 12's targets")
    w("")
    w("| target | measured | |")
    w("|---|---|---|")
    for what, text, met in targets:
        w(f"| {what} | {text} | {'–' if met is None else ('met' if met else 'missed')} |")
    w("")
    limits = explain_missed(fig, nproc=int(meta["nproc"]))
    if limits:
        w("## What limits the missed targets")
        w("")
        w("Computed from this run's figures. On this machine the load client, the proxy and the "
          "origin share the cores, so a proxy's rate is the busy cores divided by the CPU all "
          "three spend per request.")
        w("")
        for line in limits:
            w(f"- {line}")
        w("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
