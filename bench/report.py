"""Report: per-round ratios reduced to medians, the Markdown table, bench/results/, and the
table written between the README's markers (one block per database)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from bench.common import median
from bench.scenarios import FLOOR, Scenario


def markers(database: str) -> tuple[str, str]:
    """PostgreSQL keeps the original block; the others have one each."""
    tag = "bench:results" if database == "postgresql" else f"bench:results:{database}"
    return f"<!-- {tag}:start -->", f"<!-- {tag}:end -->"


def results_name(database: str) -> str:
    return "latest" if database == "postgresql" else f"latest-{database}"


def summarize(scenario: Scenario, load: dict[str, Any], asgi: dict[str, Any]) -> dict[str, Any]:
    rounds = load["rounds"]
    group = {s.key: s.group for s in scenario.servers}

    def rps(key: str) -> list[float]:
        return [r["results"][key]["rps"] for r in rounds]

    def ratios(key: str, base: str) -> list[float]:
        return [a / b for a, b in zip(rps(key), rps(base), strict=True)]

    def cpu(key: str) -> float:
        return median([b["cpu_us"] for b in asgi.get(key, [])])

    rows = []
    for m in scenario.measures:
        per_round = [r["results"][m.key] for r in rounds]
        ratio_rounds = ratios(m.key, m.baseline) if m.baseline else []
        cpu_us, base_cpu = cpu(m.key), cpu(m.baseline) if m.baseline else math.nan
        rows.append(
            {
                "key": m.key,
                "label": m.label,
                "server": m.server,
                "baseline": m.baseline,
                "extra": group[m.server] != "core",
                "rps": median(rps(m.key)),
                "rps_rounds": rps(m.key),
                "p50_ms": median([x["latency_us"]["p50"] / 1000 for x in per_round]),
                "p99_ms": median([x["latency_us"]["p99"] / 1000 for x in per_round]),
                "ratio": median(ratio_rounds) if ratio_rounds else None,
                "ratio_rounds": ratio_rounds,
                "floor_ratio": median(ratios(m.key, FLOOR))
                if m.cache_hit and m.key != FLOOR
                else None,
                "target": m.target,
                "floor_target": m.floor_target,
                "cpu_us": cpu_us,
                "cpu_ratio": None if math.isnan(base_cpu) or not cpu_us else base_cpu / cpu_us,
            }
        )
    comparisons = []
    for c in scenario.comparisons:
        rps_ratio = median(ratios(c.key, c.against))
        cpu_ratio = cpu(c.against) / cpu(c.key)
        comparisons.append(
            {
                "key": c.key,
                "against": c.against,
                "label": c.label,
                "max_loss": c.max_loss,
                "rps_ratio": rps_ratio,
                "rps_ratio_rounds": ratios(c.key, c.against),
                "cpu_us": cpu(c.key),
                "cpu_us_against": cpu(c.against),
                "cpu_ratio": cpu_ratio,
            }
        )
    servers = {}
    for s in scenario.servers:
        rss = [r["peak_rss_kib"][s.key] for r in rounds if r["peak_rss_kib"].get(s.key)]
        servers[s.key] = {
            "label": s.label,
            "peak_rss_mib": max(rss) / 1024 if rss else None,
            "startup_s": median([r["startup_s"][s.key] for r in rounds]),
            "startup_rounds_s": [r["startup_s"][s.key] for r in rounds],
        }
    return {"rows": rows, "comparisons": comparisons, "servers": servers}


def _verdict(value: float, target: float) -> str:
    if value >= target:
        return f"≥ {target:.2f} ✅"
    return f"≥ {target:.2f} ❌ ({(value / target - 1) * 100:+.0f} %)"


def markdown(report: dict[str, Any]) -> str:
    summary, params, m = report["summary"], report["params"], report["machine"]
    v, driver = report["versions"], report["driver"]
    names = {
        "hello": "bare",
        "raw.get": driver,
        "raw.list": f"{driver} list",
        "raw.post": f"{driver} create",
        "app.hit": "items hit",
        "nocache.get": "items uncached",
    }
    pins = report["load"]["pinning"]
    lines = [
        f"Measured {report['finished']} on {m['cpu']} ({m['cores']} cores, {m['memory']}), "
        f"{m['os']}, kernel {m['kernel']}; Python {v['python']}, FastAPI {v['fastapi']}, "
        f"Starlette {v['starlette']}, uvicorn {v['uvicorn']}, SQLAlchemy {v['sqlalchemy']}, "
        f"{driver} {v[driver]}; {report['database_label']}; template {report['commit'][:12]}.",
        f"wrk -t1 -c{params['connections']}, {params['duration']:g} s per measurement after "
        f"{params['warmup']:g} s warm-up, {params['rounds']} interleaved rounds; server pinned to "
        f"CPU {pins['server']}, wrk to CPU {pins['load']}; "
        f"{params['items']} items. Ratio = median of per-round ratios to the baseline in brackets. "
        "CPU/req = in-process (ASGI called directly), median of batches.",
        "",
        "| endpoint | req/s | p50 ms | p99 ms | p99/p50 | ratio | target | CPU µs/req "
        "| CPU ratio |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for row in summary["rows"]:
        base = f" ({names.get(row['baseline'], row['baseline'])})" if row["baseline"] else ""
        label = f"*{row['label']}*" if row["extra"] else row["label"]
        ratio = "—" if row["ratio"] is None else f"{row['ratio']:.2f}x{base}"
        target = "" if row["target"] is None else _verdict(row["ratio"], row["target"])
        cpu_ratio = f"{row['cpu_ratio']:.2f}x" if row["cpu_ratio"] else "—"
        lines.append(
            f"| {label} | {row['rps']:,.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | "
            f"{row['p99_ms'] / row['p50_ms']:.1f} | {ratio} | {target} | "
            f"{row['cpu_us']:.0f} | {cpu_ratio} |"
        )
    floors = [row for row in summary["rows"] if row["floor_ratio"] is not None]
    if floors:
        cells = []
        for row in floors:
            cell = f"{row['label']} {row['floor_ratio']:.2f}x"
            if row["floor_target"] is not None:
                cell += f" (target {_verdict(row['floor_ratio'], row['floor_target'])})"
            cells.append(cell)
        lines += [
            "",
            "Cache hits against the floor (bare FastAPI + one Redis GET, same round): "
            + ", ".join(cells)
            + ".",
        ]
    if summary["comparisons"]:
        lines += [
            "",
            "Metrics cost (issue 15): the app as generated (metrics on by default) against the "
            "same app with `METRICS_ENABLED=false`, same round; tracing is off in both (no "
            "`OTEL_*` variable, so OpenTelemetry is not imported).",
            "",
            "| endpoint | req/s ratio, on / off | CPU µs/req on / off | CPU ratio | budget |",
            "|---|---:|---:|---:|---|",
        ]
        for c in summary["comparisons"]:
            floor = 1 - c["max_loss"]
            ok = c["rps_ratio"] >= floor and c["cpu_ratio"] >= floor
            lines.append(
                f"| {c['label']} | {c['rps_ratio']:.2f}x | {c['cpu_us']:.0f} / "
                f"{c['cpu_us_against']:.0f} | {c['cpu_ratio']:.2f}x | "
                f"loss ≤ {c['max_loss']:.0%} {'✅' if ok else '❌'} |"
            )
    lines += [
        "",
        "| server | peak RSS MiB | startup s (to first 200 on ready) |",
        "|---|---:|---:|",
    ]
    for key, s in summary["servers"].items():
        rss = f"{s['peak_rss_mib']:.0f}" if s["peak_rss_mib"] else "—"
        lines.append(f"| {s['label']} (`{key}`) | {rss} | {s['startup_s']:.2f} |")
    if report.get("generator"):
        lines += generator_lines(report["generator"])
    return "\n".join(lines) + "\n"


def generator_lines(gen: dict[str, Any]) -> list[str]:
    new = median(gen["new_defaults_s"])
    lines = [
        "",
        "| generator | time | target |",
        "|---|---:|---|",
        f"| `fastgen new --defaults` (installed wheel, median of {len(gen['new_defaults_s'])}; "
        f"render, `uv lock`, git init and commit) | {new:.2f} s | "
        f"≤ 0.5 s {'✅' if new <= 0.5 else '❌'} |",
    ]
    if gen.get("peer_render_s"):
        peer = median(gen["peer_render_s"])
        lines.append(
            f"| s3rius `fastapi-template` 6.1.2, render only, no hooks (median of "
            f"{len(gen['peer_render_s'])}) | {peer:.2f} s | fastgen ≥ 4x faster: "
            f"{peer / new:.1f}x {'✅' if peer / new >= 4 else '❌'} |"
        )
    if gen.get("update_s"):
        update = median(gen["update_s"])
        lines.append(
            f"| `fastgen update`, no template change (median of {len(gen['update_s'])}) | "
            f"{update:.2f} s | ≤ 1.5 s {'✅' if update <= 1.5 else '❌'} |"
        )
    if "green" in gen:
        g = gen["green"]
        lines.append(
            f"| generate → `uv sync` → `pytest` green, default answers, warm cache "
            f"({g['generate_s']:.1f} + {g['install_s']:.1f} + {g['tests_s']:.1f}) | "
            f"{g['total_s']:.1f} s | < 30 s {'✅' if g['total_s'] < 30 else '❌'} |"
        )
    return lines


def update_readme(path: Path, table: str, database: str) -> None:
    start, end = markers(database)
    text = path.read_text() if path.exists() else ""
    block = f"{start}\n{table}{end}"
    if start in text and end in text:
        pattern = re.escape(start) + r".*?" + re.escape(end)
        text = re.sub(pattern, lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
