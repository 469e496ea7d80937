"""Benchmark: the national estimator (thuocdo.metrics.national) against the known truth of simulated populations.

    python -m bench.national [--persons 100000] [--replications 200] [--provinces 34] [--platforms 3]
                             [--coverage 0.8] [--multi-sim 0.2] [--panel-share 0.02] [--seed 2024]

Each replication draws a population (``thuocdo.demo.population``): ``--persons`` persons in the catalog's
provinces (the first ``--provinces`` of the 34, sizes log-normal), 3 operators (market shares 0.5/0.3/0.2) with
``--multi-sim`` of their subscribers holding 2 or 3 SIMs, ``--coverage`` of persons covered, a panel of
``--panel-share`` of the persons, one month. Scenarios:

* *shared keys*: the operators' keys are shared; some persons are active on no platform in the month (a fifth
  on average with 3 platforms), so the union's multiplicity is measured on its active subscribers only;
* *shared keys, everyone active*: every person is active on a platform (the multiplicity is seen on every
  subscriber);
* *private keys*: each operator is a unit of its own;
* *shared keys, panel-only provinces*: the last 4 provinces have no delivering operator (the panel alone).

Each replication is a population of its own (province sizes, market shares, platform reaches drawn from its
seed). The scenarios share their seeds: the same persons with the same activity (except *everyone active*, where the
idle persons are made active on a platform). Replications are stacked as months and estimated in batches of
about 1 M persons per call to ``estimate_national`` (the estimator works province-month by province-month).

For each scenario, over every platform's national MAU (summed over provinces) in every replication: the share
of 95% intervals (± 1.96 SE) holding the true MAU, the mean error (bias; per platform, then averaged) and the
largest |mean error| of a platform in Monte Carlo standard errors (its sd / √replications), the RMSE, the root
mean square of the reported SEs (each replication being a population of its own, with its own SE: when they are
right, the mean squared error is their mean square), the empirical sd of the errors and their ratio. Nothing is
written to disk; prints a Markdown table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from bench.metrics.common import code_revision
from thuocdo.catalog import load_catalog
from thuocdo.demo.population import Simulation, replicate
from thuocdo.metrics.national import estimate_national

PERSONS_PER_CALL = 1_000_000
UNSERVED = 4


def scenarios(provinces: list[str]) -> dict[str, dict[str, Any]]:
    return {
        "shared keys": {},
        "shared keys, everyone active": {"everyone_active": True},
        "private keys": {"shared_keys": False},
        f"shared keys, {UNSERVED} provinces panel-only": {"unserved": provinces[-UNSERVED:]},
    }


@dataclass
class Outcome:
    """(platforms, replications): the national MAU's estimate, standard error and truth."""
    mau: np.ndarray
    se: np.ndarray
    truth: np.ndarray
    seconds: float

    def summary(self) -> dict[str, float]:
        error = self.mau - self.truth
        reps = error.shape[1]
        sd = error.std(axis=1, ddof=1)
        bias = error.mean(axis=1)
        return {
            "coverage": float(np.mean(np.abs(error) <= 1.96 * self.se)),
            "bias": float(bias.mean()),
            "bias_mcse": float(np.max(np.abs(bias) / (sd / np.sqrt(reps)))),
            "rmse": float(np.sqrt(np.mean(error**2))),
            "rms_se": float(np.sqrt(np.mean(self.se**2))),
            "sd": float(np.sqrt(np.mean(sd**2))),
            "se_over_sd": float(np.sqrt(np.mean(self.se**2)) / np.sqrt(np.mean(sd**2))),
            "mean_mau": float(self.truth.mean()),
            "seconds": self.seconds,
        }


def estimate_batch(sim: Simulation, platforms: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(platforms, replications of the batch) arrays: estimate, standard error, truth."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.register("sim_person_day", sim.person_day)
    con.register("sim_weights", sim.weights)
    con.register("sim_coverage", sim.coverage)
    est = estimate_national(con, sim.sources, person_day="sim_person_day", weights="sim_weights",
                            coverage="sim_coverage", population=sim.population)
    cells = est.cells.group_by(["platform", "month"]).aggregate([("mau", "sum"), ("mau_var", "sum")])
    truth = sim.truth.group_by(["platform", "month"]).aggregate([("mau", "sum")])
    months = sorted({m for _, m in sim.population})
    con.close()

    def grid(rows: dict[str, list[Any]], column: str) -> np.ndarray:
        at = {(p, m): v for p, m, v in zip(rows["platform"], rows["month"], rows[column], strict=True)}
        return np.array([[float(at.get((p, m), 0.0)) for m in months] for p in platforms])

    c, t = cells.to_pydict(), truth.to_pydict()
    return grid(c, "mau_sum"), np.sqrt(grid(c, "mau_var_sum")), grid(t, "mau_sum")


def run(args: argparse.Namespace, provinces: list[str], platforms: list[str], options: dict[str, Any],
        advance: Any) -> Outcome:
    batch = max(1, min(args.replications, PERSONS_PER_CALL // args.persons))
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    start = time.perf_counter()
    for first in range(0, args.replications, batch):
        count = min(batch, args.replications - first)
        sim = replicate(args.seed, count, start=first, persons=args.persons, provinces=provinces,
                        platforms=platforms, operator_shares=(0.5, 0.3, 0.2), coverage=args.coverage,
                        multi_sim=args.multi_sim, panel_size=max(2 * len(provinces),
                                                                 round(args.panel_share * args.persons)),
                        **options)
        parts.append(estimate_batch(sim, platforms))
        advance(count)
    mau, se, truth = (np.concatenate([p[i] for p in parts], axis=1) for i in range(3))
    return Outcome(mau, se, truth, time.perf_counter() - start)


def table(results: dict[str, dict[str, float]]) -> str:
    lines = ["| scenario | 95% CI coverage | mean bias | max \\|bias\\| / MCSE | RMSE | RMS SE | empirical sd | "
             "SE / sd | mean MAU | time |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['coverage']:.1%} | {r['bias']:+,.1f} | {r['bias_mcse']:.2f} | {r['rmse']:,.1f} "
                     f"| {r['rms_se']:,.1f} | {r['sd']:,.1f} | {r['se_over_sd']:.2f} | {r['mean_mau']:,.0f} "
                     f"| {r['seconds']:,.0f} s |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.national", description=__doc__.split("\n\n")[0])
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--replications", type=int, default=200)
    ap.add_argument("--provinces", type=int, default=34, help="the first N of the catalog's 34 provinces")
    ap.add_argument("--platforms", type=int, default=3, help="the first N of the catalog's platforms")
    ap.add_argument("--coverage", type=float, default=0.8)
    ap.add_argument("--multi-sim", type=float, default=0.2)
    ap.add_argument("--panel-share", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args(argv)

    from rich.console import Console
    from rich.progress import Progress

    catalog = load_catalog()
    provinces = [p.code for p in catalog.provinces_new][:args.provinces]
    platforms = [p.id for p in catalog.platforms][:args.platforms]
    if len(provinces) <= UNSERVED:
        raise SystemExit(f"--provinces: more than {UNSERVED} (the panel-only scenario leaves {UNSERVED} unserved)")
    console = Console(width=None if sys.stdout.isatty() else 120)
    console.print(f"thuocdo {code_revision()}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
                  f"load average {os.getloadavg()[0]:.1f}")
    console.print(f"{args.replications} replications of {args.persons:,} persons, {len(provinces)} provinces, "
                  f"{len(platforms)} platforms ({', '.join(platforms)}), coverage {args.coverage}, "
                  f"multi-SIM {args.multi_sim}, panel {args.panel_share:.0%}, seed {args.seed}")
    results: dict[str, dict[str, float]] = {}
    with Progress(console=console, transient=True) as progress:
        for name, options in scenarios(provinces).items():
            task = progress.add_task(name, total=args.replications)
            outcome = run(args, provinces, platforms, options,
                          lambda n, task=task: progress.advance(task, n))  # type: ignore[misc]
            results[name] = outcome.summary()
            console.print(f"  {name}: {results[name]['coverage']:.1%} coverage, "
                          f"SE / sd {results[name]['se_over_sd']:.2f} ({outcome.seconds:,.0f} s)")
    print(table(results))
    print(json.dumps({"persons": args.persons, "replications": args.replications, "provinces": len(provinces),
                      "platforms": len(platforms), "seed": args.seed,
                      "scenarios": {k: {m: round(v, 4) for m, v in r.items()} for k, r in results.items()}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
