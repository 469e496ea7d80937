"""Benchmark: the Monte Carlo rank analysis of the index engine (issue 4).

    python bench/index_mc.py [--runs 1000] [--entities 63] [--indicators 100] [--groups 10] [--repeat 3]

A synthetic framework like a DTI with its sub-indicators: a root, ``--groups`` main indices of equal points,
and ``--indicators`` indicators shared out among them (random points); ``--entities`` provinces with random
values (2% missing, re-normalised). Measured, best of ``--repeat``:

a. weights only (every weight × U[0.75, 1.25]; the spec's own min-max normalisation, arithmetic);
b. weights and methods (each run also draws one of min-max, z-score, rank, or min-max on [1, 100] with
   geometric aggregation);
c. the influence of each indicator: leave-one-out (one batch of indicators + 1 weight vectors) and the
   first-order sensitivity indices of (b);
d. a naive baseline: the same weights-only analysis with a Python loop over runs calling ``compute_index``
   (timed on 50 runs, scaled to ``--runs``), to show what the vectorisation buys.

Checks that (a) agrees run by run with the loop, prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from thuocdo.indices.compute import compute_index
from thuocdo.indices.normalise import Normalisation
from thuocdo.indices.spec import IndexSpec
from thuocdo.indices.tree import IndexTree
from thuocdo.indices.uncertainty import DEFAULT_ALTERNATIVES, leave_one_out, monte_carlo, sensitivity


def synthetic(entities: int, indicators: int, groups: int, seed: int = 0) -> tuple[IndexSpec, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, str | None, float]] = [("index", None, 1.0)]
    rows += [(f"g{g}", "index", 100.0) for g in range(groups)]
    rows += [(f"i{i}", f"g{i % groups}", float(rng.integers(1, 20))) for i in range(indicators)]
    tree = IndexTree.from_rows(rows)
    values = rng.gamma(2.0, 10.0, size=(entities, len(tree.leaves)))
    values[rng.uniform(size=values.shape) < 0.02] = np.nan
    return IndexSpec(tree, tree.leaves, Normalisation("min_max")), values


def best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--entities", type=int, default=63)
    parser.add_argument("--indicators", type=int, default=100)
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    spec, values = synthetic(args.entities, args.indicators, args.groups)
    entities = [f"p{i:02d}" for i in range(args.entities)]

    weights_only = best(lambda: monte_carlo(spec, entities, values, runs=args.runs, seed=1), args.repeat)
    with_methods = best(lambda: monte_carlo(spec, entities, values, runs=args.runs, seed=1,
                                            alternatives=DEFAULT_ALTERNATIVES), args.repeat)
    mc = monte_carlo(spec, entities, values, runs=args.runs, seed=1, alternatives=DEFAULT_ALTERNATIVES)
    influence = best(lambda: (leave_one_out(spec, values), sensitivity(mc, spec.tree.codes)), args.repeat)

    # naive baseline: one compute_index per run with the run's weights (50 runs, scaled)
    plain = monte_carlo(spec, entities, values, runs=args.runs, seed=1)
    sample = min(50, args.runs)
    t = time.perf_counter()
    for run in range(sample):
        weights = dict(zip(spec.tree.codes, spec.tree.weights * plain.multipliers[run], strict=True))
        ranks = compute_index(spec.with_weights(weights), entities, values).rank
        assert np.array_equal(ranks, plain.ranks[run], equal_nan=True), f"run {run} differs from the loop"
    loop = (time.perf_counter() - t) / sample * args.runs

    size = f"{args.runs:,} runs × {args.entities} entities × {args.indicators} indicators ({args.groups} groups)"
    print(f"Monte Carlo of ranks, {size}; {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"numpy {np.__version__}")
    print("| analysis | seconds |\n|---|---|")
    print(f"| weights only (vectorised) | {weights_only:.3f} |")
    print(f"| weights + normalisation/aggregation choices (vectorised) | {with_methods:.3f} |")
    print(f"| indicator influence: leave-one-out + first-order indices | {influence:.3f} |")
    print(f"| weights only, loop of compute_index (50 runs, scaled) | {loop:.2f} |")
    print(json.dumps({"runs": args.runs, "entities": args.entities, "indicators": args.indicators,
                      "weights_only_s": round(weights_only, 4), "with_methods_s": round(with_methods, 4),
                      "influence_s": round(influence, 4), "loop_s": round(loop, 3)}))


if __name__ == "__main__":
    main()
