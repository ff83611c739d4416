#!/usr/bin/env python3
"""The table of bench/round2.sh: every figure of the second performance round
with parleyd's value, node-ws's, the ratio parleyd / node-ws (as the targets
are written: below 1 means parleyd costs less), the target and whether it is
met. Medians over the rounds of each step. Reads the reports under OUT.

usage: round2_summary.py OUT
"""
import glob
import json
import os
import statistics
import sys


def reports(out, step, label):
    files = sorted(glob.glob(os.path.join(out, step, f"{label}-[0-9]*.json")))
    return [json.load(open(f)) for f in files]


def get(report, path):
    value = report
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def med(out, step, label, path):
    return median([get(r, path) for r in reports(out, step, label)])


def fmt(value, digits=1):
    if value is None:
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def main():
    out = sys.argv[1]
    fsync = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(out, "fsync-*.json")))]
    fsync_rate = median([f["fdatasync_per_second"] for f in fsync])
    fsync_p99_ms = median([f["latency_us"]["p99"] / 1000 for f in fsync]) if fsync else None
    max_rate = None
    search = os.path.join(out, "search.txt")
    if os.path.exists(search):
        for line in open(search):
            if line.startswith("max_rate="):
                max_rate = float(line.split("=")[1]) or None

    rows = []

    before_runs = bool(reports(out, "pairs", "parleyd-before") or reports(out, "group100", "parleyd-before"))

    def ratio_row(figure, step, path, unit, target):
        a = med(out, step, "parleyd", path)
        b = med(out, step, "node-ws", path)
        p = med(out, step, "parleyd-before", path)
        r = a / b if a is not None and b else None
        rp = p / b if p is not None and b else None
        met = None if r is None else r <= target
        value = f"{fmt(a)} {unit}"
        ratio = fmt(r, 2) + "×" if r is not None else "–"
        if before_runs:
            value += f" (before: {fmt(p)})"
            ratio += f" (before: {fmt(rp, 2)}×)" if rp is not None else ""
        rows.append((figure, value, f"{fmt(b)} {unit}", ratio, f"≤ {target}×", met))

    ratio_row("(b) 1:1, server CPU µs per durable message", "pairs", "server_process.cpu_us_per_acked", "µs", 0.5)
    ratio_row("(c) groups of 100, server CPU µs per delivery", "group100", "server_process.cpu_us_per_delivered",
              "µs", 0.33)
    ratio_row("(e) mix, server CPU µs per delivery", "mix", "server_process.cpu_us_per_delivered", "µs", 0.5)

    sustained = max_rate / fsync_rate if max_rate and fsync_rate else None
    rows.append(("durable 1:1 msg/s sustained ÷ disk fdatasync/s",
                 f"{fmt(max_rate)} msg/s ÷ {fmt(fsync_rate)}/s", "", fmt(sustained, 1) + "×" if sustained else "–",
                 "≥ 10×", None if sustained is None else sustained >= 10))

    writer = med(out, "pairs", "parleyd", "server_process.threads.parley-writer.cpu_us_per_acked")
    writer_before = med(out, "pairs", "parleyd-before", "server_process.threads.parley-writer.cpu_us_per_acked")
    shown = f"{fmt(writer)} µs" + (f" (before: {fmt(writer_before)})" if before_runs else "")
    rows.append(("writer thread CPU µs per durable message", shown, "", "", "≤ 15 µs",
                 None if writer is None else writer <= 15))

    p99_ms = med(out, "latency", "parleyd", "latency_us.delivery.p99")
    p99_ms = p99_ms / 1000 if p99_ms is not None else None
    rate_half = med(out, "latency", "parleyd", "config.rate")
    met = None
    if p99_ms is not None:
        met = p99_ms <= 10 or (fsync_p99_ms is not None and p99_ms <= 2 * fsync_p99_ms)
    rows.append((f"p99 delivery latency at half of max ({fmt(rate_half)} msg/s)",
                 f"{fmt(p99_ms)} ms", f"disk fdatasync p99 {fmt(fsync_p99_ms, 2)} ms",
                 fmt(p99_ms / fsync_p99_ms, 1) + "× fsync p99" if p99_ms and fsync_p99_ms else "–",
                 "≤ 10 ms or ≤ 2× fsync p99", met))

    connections = med(out, "idle", "parleyd", "connections.connected")
    a, b, r = None, None, None
    a = med(out, "idle", "parleyd", "server_process.rss_per_connection_bytes")
    b = med(out, "idle", "node-ws", "server_process.rss_per_connection_bytes")
    p = med(out, "idle", "parleyd-before", "server_process.rss_per_connection_bytes")
    r = a / b if a is not None and b else None
    met = None if r is None else (r <= 0.33 and a <= 2048)
    shown = f"{fmt(a / 1024 if a is not None else None, 2)} KiB"
    if before_runs:
        shown += f" (before: {fmt(p / 1024 if p is not None else None, 2)})"
    rows.append((f"RSS per idle authenticated connection at {fmt(connections)}",
                 shown,
                 f"{fmt(b / 1024 if b is not None else None, 2)} KiB", fmt(r, 2) + "×" if r is not None else "–",
                 "≤ 0.33× and ≤ 2 KiB", met))

    ratio_row("(d) churn, server CPU µs per reconnect-and-resume", "churn", "server_process.cpu_us_per_reconnect",
              "µs", 0.5)

    def cell(met):
        return "–" if met is None else ("met" if met else "not met")

    lines = ["| figure | parleyd | node-ws | ratio | target | |", "| --- | --- | --- | --- | --- | --- |"]
    for figure, a, b, r, target, met in rows:
        lines.append(f"| {figure} | {a} | {b} | {r} | {target} | {cell(met)} |")

    # What else a reader needs to trust the table.
    notes = []
    for step in ("pairs", "group100", "mix", "churn", "idle", "latency"):
        for label in ("parleyd", "parleyd-before", "node-ws"):
            rs = reports(out, step, label)
            if not rs:
                continue
            errors = sum(get(r, "errors.total") or 0 for r in rs)
            missing = sum(get(r, "messages.missing_deliveries") or 0 for r in rs)
            repeated = sum(get(r, "messages.repeated_deliveries") or 0 for r in rs)
            tool = median([get(r, "tool_process.cpu_cores") for r in rs])
            extra = ""
            if step == "churn":
                reconnects = median([get(r, "churn.reconnects_per_s") for r in rs])
                resumed = sum(get(r, "churn.resumed_deliveries") or 0 for r in rs)
                resync = sum(get(r, "churn.resync_required") or 0 for r in rs)
                extra = (f", {fmt(reconnects)} reconnects/s, {resumed} messages delivered by resumes, "
                         f"{resync} resyncs")
            notes.append(f"- {step} {label}: {len(rs)} run(s), errors {errors}, missing deliveries {missing}, "
                         f"repeated {repeated}, tool {fmt(tool, 2)} cores{extra}")
    for f in fsync:
        lat = f["latency_us"]
        notes.append(f"- fdatasync: {fmt(f['fdatasync_per_second'])}/s, p50 {lat['p50'] / 1000:.2f} ms, "
                     f"p99 {lat['p99'] / 1000:.2f} ms")
    if os.path.exists(search):
        notes.append("- rate search: " + "; ".join(l.strip()[len("search: "):] for l in open(search)
                                                 if l.startswith("search:")))
    load = os.path.join(out, "load.txt")
    if os.path.exists(load):
        notes.append("- load averages (1/5/15 min) before each step: " +
                     "; ".join(l.strip() for l in open(load)))
    problems = os.path.join(out, "problems.txt")
    if os.path.exists(problems):
        notes += ["- PROBLEM: " + l.strip() for l in open(problems)]
    run = os.path.join(out, "run.txt")
    header = open(run).read().strip().replace("\n", "; ") if os.path.exists(run) else ""
    print(f"Round 2 figures ({header}); ratios parleyd / node-ws, medians of rounds; "
          "met / not met for parleyd (the build measured)\n")
    print("\n".join(lines))
    print()
    print("\n".join(notes))


if __name__ == "__main__":
    main()
