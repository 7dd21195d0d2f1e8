#!/usr/bin/env python3
"""bench/peers/report.py on a made-up run whose figures are known: the per-request CPU it derives
from clock ticks, the targets it marks met or missed, and the budget it says a missed target
needs. Fails (exit 1) on the first figure that differs."""
import pathlib
import subprocess
import sys
import tempfile

REPORT = pathlib.Path(__file__).resolve().parents[2] / "bench" / "peers" / "report.py"


def wrk_output(rps, requests, p99_ms):
    return (f"  {requests} requests in 5.00s, 1.00MB read\n"
            f"     99%    {p99_ms:.2f}ms\n"
            f"Requests/sec:  {rps:.2f}\n")


def main():
    failures = []

    def expect(text, needle):
        if needle not in text:
            failures.append(f"missing: {needle}")

    def expect_not(text, needle):
        if needle in text:
            failures.append(f"unexpected: {needle}")

    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        meta = work / "meta.tsv"
        meta.write_text("\n".join([
            "date\t2026-12-03 12:00 UTC", "nproc\t2", "cpu\ttest cpu", "kernel\t6.0", "load\t1 1 1",
            "clk_tck\t100", "duration\t5", "rounds\t1", "quick\t0", "purser\tabc1234",
            "package\twrk\t4.1", ""]))
        raw = []

        # scenario, target, rps, requests, p99, proxy user/sys ticks ("-" for none), origin,
        # client, busy and total machine ticks.
        def load(scenario, target, rps, requests, p99, user, system, origin, client, busy, total):
            out = work / f"{scenario}-{target}.txt"
            out.write_text(wrk_output(rps, requests, p99))
            raw.append("\t".join(str(v) for v in (
                "load", scenario, target, 1, 64, user, system, origin, client, busy, total, out)))

        # HTTP: Purser at 25,000 req/s, 125,000 requests; 250 ticks of 10 ms are 2.5 s, 20 µs a
        # request each for user and system time: 40 µs, a missed 20 µs target.
        load("http", "direct", 50000, 250000, 2.0, "-", "-", 400, 300, 950, 1000)
        load("http", "purser", 25000, 125000, 3.0, 250, 250, 200, 150, 950, 1000)
        load("http", "squid", 8000, 40000, 9.0, 300, 100, 100, 80, 700, 1000)
        # HTTPS keep-alive: 2.5x squid (a missed 3x), 30x mitmproxy (a met 20x).
        load("https-keepalive", "direct", 30000, 150000, 4.0, "-", "-", 400, 400, 950, 1000)
        load("https-keepalive", "purser", 15000, 75000, 5.0, 300, 150, 200, 225, 950, 1000)
        load("https-keepalive", "squid", 6000, 30000, 10.0, 400, 100, 90, 120, 750, 1000)
        load("https-keepalive", "mitmproxy", 500, 2500, 100.0, 480, 20, 30, 40, 600, 1000)
        # A new connection per request: 6x squid and 15x mitmproxy, both met.
        load("https-close", "direct", 1600, 8000, 50.0, "-", "-", 300, 600, 980, 1000)
        load("https-close", "purser", 1500, 7500, 60.0, 450, 150, 50, 650, 990, 1000)
        load("https-close", "squid", 250, 1250, 300.0, 400, 50, 70, 180, 800, 1000)
        load("https-close", "mitmproxy", 100, 500, 600.0, 450, 30, 30, 60, 600, 1000)
        raw.append("rss\tpurser\t1\t10000\t18000\t80000")
        raw.append("rss\tsquid\t1\t10000\t29000\t290000")
        raw_file = work / "raw.tsv"
        raw_file.write_text("\n".join(raw) + "\n")

        text = subprocess.run([sys.executable, str(REPORT), str(meta), str(raw_file)], check=True,
                              capture_output=True, text=True).stdout

    # Per request: ticks * 10 ms / requests.
    expect(text, "| http | purser | 25,000 | 20.0 | 20.0 | 16.0 | 12.0 | 1.90 |")
    expect(text, "| https-keepalive | purser | 15,000 | 40.0 | 20.0 | 26.7 | 30.0 | 1.90 |")
    expect(text, "| http | direct | 50,000 | – | – | 16.0 | 12.0 | 1.90 |")
    # The targets, met and missed.
    expect(text, "| HTTP, 64 connections: req/s at least 2.5x squid's | 3.12x | met |")
    expect(text, "| HTTP, 64 connections: CPU per request at most 20 µs | 40.0 µs | missed |")
    expect(text, "| HTTPS keep-alive: req/s at least 3x squid ssl-bump's | 2.50x | missed |")
    expect(text, "| HTTPS keep-alive: req/s at least 20x mitmproxy's | 30.00x | met |")
    expect(text, "| New connection per request: req/s at least 5x squid ssl-bump's | 6.00x | met |")
    expect(text, "| Under 20 KiB per idle connection at 10,000 connections | 6.2 KiB | met |")
    # What limits the missed ones: the CPU split and twice the origin's figure...
    expect(text, "## What limits the missed targets")
    expect(text, "HTTP CPU per request: Purser spent 40.0 µs, 20.0 in its own code and 20.0 in the kernel")
    expect(text, "spent 16.0 µs per request in the same runs")
    expect(text, "twice that, 32.0 µs")
    # ... and for 3x squid's 6,000 req/s: 1.9 busy cores / 18,000 req/s = 105.6 µs per request,
    # against 1.9 / 15,000 = 126.7 spent (Purser 60, origin 26.7, client 30, the rest 10).
    expect(text, "HTTPS keep-alive: 3x squid's 6,000 req/s is 18,000 req/s.")
    expect(text, "126.7 µs of machine CPU per request: Purser 60.0, the origin 26.7, the load client "
                 "30.0, the rest 10.0. The target needs 105.6 µs per request in all.")
    expect(text, "reached 30,000 req/s, 5.00x squid's")
    # Met targets get no explanation.
    expect_not(text, "New connection per request: 5x")
    expect_not(text, "HTTPS keep-alive: 20x mitmproxy")
    expect_not(text, "HTTP, 64 connections: 2.5x")

    for f in failures:
        print(f, file=sys.stderr)
    if failures:
        print("--- report ---\n" + text, file=sys.stderr)
        return 1
    print("report.py: all figures as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
