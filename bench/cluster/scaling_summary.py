#!/usr/bin/env python3
"""The table of a scaling.sh sitting (docs/benchmarks.md, "Scale-out").

usage: scaling_summary.py OUT

Reads OUT/runs/NAME-ROUND/report.json (parley-bench reports with cpu_groups),
prints Markdown: medians per configuration over rounds, the throughput ratios
N nodes / 1 node (of medians, and the range of the ratios within each round)
against the targets, CPU per message by part, and the cost of cluster mode
against one SQLite node. Load averages from OUT/load.txt.
"""
import json
import pathlib
import re
import statistics
import sys

TARGETS = {2: 1.7, 3: 2.4}


def load(out):
    runs = {}
    for path in sorted((out / "runs").glob("*/report.json")):
        m = re.fullmatch(r"(sqlite|cluster)-(\d+)-(\d+)", path.parent.name)
        if not m:
            continue
        kind, nodes, rnd = m.group(1), int(m.group(2)), int(m.group(3))
        report = json.loads(path.read_text())
        report["_throttled"] = throttled_share(path.parent, nodes)
        runs.setdefault((kind, nodes), {})[rnd] = report
    return runs


def throttled_share(run_dir, nodes):
    """Share of CFS periods in which the nodes were throttled (cpu.stat
    before/after the parley-bench run, setup included), summed over nodes."""
    periods = throttled = 0
    for k in range(1, nodes + 1):
        try:
            before = dict(l.split() for l in (run_dir / f"node{k}.cpu-stat-before").read_text().splitlines())
            after = dict(l.split() for l in (run_dir / f"node{k}.cpu-stat-after").read_text().splitlines())
        except (OSError, ValueError):
            return None
        periods += int(after["nr_periods"]) - int(before["nr_periods"])
        throttled += int(after["nr_throttled"]) - int(before["nr_throttled"])
    return throttled / periods if periods else None


def group(report, name, field):
    return report.get("cpu_groups", {}).get(name, {}).get(field)


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=0):
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def main():
    out = pathlib.Path(sys.argv[1])
    runs = load(out)
    if not runs:
        print("no reports found")
        return 1
    lines = []
    run_txt = (out / "run.txt").read_text().strip() if (out / "run.txt").exists() else ""
    lines.append("```\n" + run_txt + "\n```\n")

    def row_stats(kind, nodes):
        reports = runs[(kind, nodes)]
        acked = [r["throughput"]["acked_per_s"] for r in reports.values()]
        delivered = [r["throughput"]["delivered_per_s"] for r in reports.values()]
        per_node = []
        for r in reports.values():
            cores = [group(r, f"node{k}", "cpu_cores") for k in range(1, nodes + 1)]
            per_node.append(statistics.mean(c for c in cores if c is not None) if any(c is not None for c in cores) else None)
        node_us = med([group(r, "nodes", "cpu_us_per_acked") for r in reports.values()])
        pg_us = med([group(r, "postgres", "cpu_us_per_acked") for r in reports.values()])
        redis_us = med([group(r, "redis", "cpu_us_per_acked") for r in reports.values()])
        total_us = med([
            sum(v for v in (group(r, "nodes", "cpu_us_per_acked"), group(r, "postgres", "cpu_us_per_acked"),
                            group(r, "redis", "cpu_us_per_acked")) if v is not None)
            for r in reports.values()
        ])
        return {
            "rounds": len(reports),
            "acked": med(acked),
            "delivered": med(delivered),
            "node_cores": med(per_node),
            "pg_cores": med([group(r, "postgres", "cpu_cores") for r in reports.values()]),
            "redis_cores": med([group(r, "redis", "cpu_cores") for r in reports.values()]),
            "throttled": med([r["_throttled"] for r in reports.values()]),
            "tool_cores": med([group(r, "tool", "cpu_cores") for r in reports.values()]),
            "node_us": node_us,
            "pg_us": pg_us,
            "redis_us": redis_us,
            "total_us": total_us,
            "ack_p50": med([r["latency_us"]["ack"]["p50"] for r in reports.values()]),
            "ack_p99": med([r["latency_us"]["ack"]["p99"] for r in reports.values()]),
            "errors": sum(r["errors"]["total"] for r in reports.values()),
            "failed": sum(r["messages"]["failed_sends"] for r in reports.values()),
            "repeated": sum(r["messages"]["repeated_deliveries"] for r in reports.values()),
            "out_of_order": sum(r["messages"]["out_of_order"] for r in reports.values()),
            "offered": statistics.median(r["config"]["rate"] for r in reports.values()),
        }

    keys = sorted(runs, key=lambda k: (k[0] != "sqlite", k[1]))
    stats = {k: row_stats(*k) for k in keys}
    base = stats.get(("cluster", 1))

    lines.append("| configuration | rounds | offered msg/s | messages/s | deliveries/s | × 1 node | CPU per node (cores) "
                 "| PostgreSQL cores | Redis cores | tool cores | ack p50 / p99 (ms) |")
    lines.append("| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |")
    for key in keys:
        s = stats[key]
        name = "1 node, SQLite" if key[0] == "sqlite" else f"{key[1]} node{'s' if key[1] > 1 else ''}, PostgreSQL + Redis"
        ratio = s["acked"] / base["acked"] if base and key[0] == "cluster" and base["acked"] else None
        lines.append(
            f"| {name} | {s['rounds']} | {fmt(s['offered'])} | {fmt(s['acked'])} | {fmt(s['delivered'])} "
            f"| {fmt(ratio, 2) + '×' if ratio else '–'} | {fmt(s['node_cores'], 3)} | {fmt(s['pg_cores'], 2)} "
            f"| {fmt(s['redis_cores'], 2)} | {fmt(s['tool_cores'], 2)} "
            f"| {fmt(s['ack_p50'] / 1000 if s['ack_p50'] else None, 0)} / {fmt(s['ack_p99'] / 1000 if s['ack_p99'] else None, 0)} |")
    lines.append("")

    # Throughput ratios against the targets: of the medians, and within each
    # round (the same sitting, minutes apart).
    if base:
        lines.append("| scaling | ratio of medians | ratios within rounds | target | met |")
        lines.append("| --- | --: | --- | --: | --- |")
        for key in keys:
            if key[0] != "cluster" or key[1] == 1:
                continue
            ratio = stats[key]["acked"] / base["acked"] if base["acked"] else 0
            within = []
            for rnd, report in sorted(runs[key].items()):
                one = runs[("cluster", 1)].get(rnd)
                if one and one["throughput"]["acked_per_s"]:
                    within.append(report["throughput"]["acked_per_s"] / one["throughput"]["acked_per_s"])
            target = TARGETS.get(key[1])
            met = "–" if target is None else ("met" if ratio >= target else "not met")
            lines.append(f"| {key[1]} nodes / 1 node, messages/s | {ratio:.2f}× | "
                         f"{', '.join(f'{w:.2f}' for w in within) or '–'} | "
                         f"{'≥ ' + format(target, '.1f') + '×' if target else '–'} | {met} |")
        lines.append("")

    lines.append("CPU per acknowledged message (µs, medians of rounds):\n")
    lines.append("| configuration | nodes | PostgreSQL | Redis | total | × SQLite |")
    lines.append("| --- | --: | --: | --: | --: | --: |")
    sqlite = stats.get(("sqlite", 1))
    for key in keys:
        s = stats[key]
        name = "1 node, SQLite" if key[0] == "sqlite" else f"{key[1]} node{'s' if key[1] > 1 else ''}, cluster"
        vs = s["total_us"] / sqlite["total_us"] if sqlite and sqlite["total_us"] and s["total_us"] else None
        lines.append(f"| {name} | {fmt(s['node_us'], 1)} | {fmt(s['pg_us'], 1)} | {fmt(s['redis_us'], 1)} "
                     f"| {fmt(s['total_us'], 1)} | {fmt(vs, 2) + '×' if vs else '–'} |")
    lines.append("")

    problems = [f"{'SQLite' if k[0] == 'sqlite' else 'cluster'}-{k[1]}: errors {s['errors']}, failed sends {s['failed']}, "
                f"repeated {s['repeated']}, out of order {s['out_of_order']}"
                for k, s in stats.items() if s["errors"] or s["failed"] or s["repeated"] or s["out_of_order"]]
    if problems:
        lines.append("Problems seen (all rounds): " + "; ".join(problems) + "\n")
    load_txt = out / "load.txt"
    if load_txt.exists():
        loads = [line.split() for line in load_txt.read_text().splitlines() if line.strip()]
        one_min = [float(l[2]) for l in loads if len(l) >= 5]
        if one_min:
            lines.append(f"Load averages (1 min) before the runs: median {statistics.median(one_min):.2f}, "
                         f"min {min(one_min):.2f}, max {max(one_min):.2f} ({len(one_min)} readings, load.txt).")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
