"""The synthetic population (thuocdo.demo.population) against recounts in plain Python from its deliveries.

The truth is recounted along paths that do not go through the generator's own tallies: from a panel that
holds every person (weights 1), and from the union of the operators' rows when every person is covered and
the keys are shared.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from datetime import date

import numpy as np
import pyarrow.compute as pc
import pytest

from thuocdo.demo.population import PANEL, Simulation, replicate, replication_months, simulate
from thuocdo.metrics.national import SourceSpec
from thuocdo.rollups.definitions import PERSON_DAY_COLUMNS

PROVINCES = ["01", "02", "04", "08", "11", "12"]
MONTHS = ["2024-01", "2024-02"]
PLATFORMS = ["zalo", "facebook", "tiktok"]
OPERATORS = ["op-a", "op-b", "op-c"]


def sim(seed: int = 7, **options: object) -> Simulation:
    kwargs: dict[str, object] = {"persons": 3000, "coverage": 0.8, "multi_sim": 0.2, "panel_size": 400}
    kwargs.update(options)
    return simulate(seed, provinces=PROVINCES, months=MONTHS, platforms=PLATFORMS, **kwargs)  # type: ignore[arg-type]


def truth_of(s: Simulation) -> dict[tuple[str, str, str], dict[str, int]]:
    return {(r["platform"], r["month"], r["province"]): r for r in s.truth.to_pylist()}


def rows_of(s: Simulation, *sources: str) -> list[dict[str, object]]:
    return [r for r in s.person_day.to_pylist() if r["source"] in sources]


def test_truth_equals_a_panel_of_everyone() -> None:
    """A panel of every person (each of weight 1) sees all the activity, covered or not."""
    s = sim(panel_size=3000, coverage=0.7)
    assert set(s.weights.column("weight").to_pylist()) == {1.0}
    mau: dict[tuple[object, ...], set[object]] = defaultdict(set)
    seconds: Counter[tuple[object, ...]] = Counter()
    data: Counter[tuple[object, ...]] = Counter()
    for r in rows_of(s, PANEL):
        key = (r["platform"], r["month"], r["province"])
        mau[key].add(r["person"])
        seconds[key] += r["active_seconds"]  # type: ignore[assignment]
        data[key] += r["bytes"]  # type: ignore[assignment]
    truth = truth_of(s)
    assert len(truth) == len(PLATFORMS) * len(MONTHS) * len(PROVINCES)
    for key, t in truth.items():
        assert (t["mau"], t["active_seconds"], t["bytes"]) == (len(mau[key]), seconds[key], data[key]), key


def test_truth_equals_the_union_of_the_operators_with_full_coverage_and_shared_keys() -> None:
    s = sim(coverage=1.0)
    assert all(s.people.column("covered").to_pylist())
    mau: dict[tuple[object, ...], set[object]] = defaultdict(set)
    seconds: Counter[tuple[object, ...]] = Counter()
    for r in rows_of(s, *OPERATORS):
        key = (r["platform"], r["month"], r["province"])
        mau[key].add(r["person"])
        seconds[key] += r["active_seconds"]  # type: ignore[assignment]
    for key, t in truth_of(s).items():
        assert (t["mau"], t["active_seconds"]) == (len(mau[key]), seconds[key]), key


def test_a_multi_sim_persons_activity_is_split_between_their_operators() -> None:
    """Each operator sees the person active; the parts of its SIMs add up to what the panel sees of them."""
    s = sim(coverage=1.0, panel_size=3000, multi_sim=0.5)
    people = s.people.to_pylist()
    by_op_key = {(op, p[op]): p["person"] for p in people for op in OPERATORS if p[op] is not None}
    by_panel_key = {p[PANEL]: p["person"] for p in people}
    sims = {p["person"]: p["sims"] for p in people}
    panel = {(by_panel_key[r["person"]], r["platform"], r["month"]): r for r in rows_of(s, PANEL)}
    parts: dict[tuple[object, ...], list[dict[str, object]]] = defaultdict(list)
    for r in rows_of(s, *OPERATORS):
        parts[(by_op_key[(r["source"], r["person"])], r["platform"], r["month"])].append(r)
    assert parts.keys() == panel.keys()
    assert max(sims.values()) == 3
    for key, seen in parts.items():
        whole = panel[key]
        assert len(seen) == sims[key[0]]  # type: ignore[index]
        assert len({r["day"] for r in seen} | {whole["day"]}) == 1
        for column in ("active_seconds", "bytes", "sessions", "installs"):
            assert sum(r[column] for r in seen) == whole[column], (key, column)  # type: ignore[misc]


def test_coverage_files_are_the_subscribers() -> None:
    """Recounted from the latent persons, and from the operators' rows when every subscriber is active."""
    s = sim(everyone_active=True)
    held: Counter[tuple[object, object]] = Counter()
    for p in s.people.to_pylist():
        for op in OPERATORS:
            held[(op, p["province"])] += p[op] is not None
    seen: dict[tuple[object, ...], set[object]] = defaultdict(set)
    for r in rows_of(s, *OPERATORS):
        seen[(r["source"], r["province"], r["month"])].add(r["person"])
    coverage = s.coverage.to_pylist()
    assert len(coverage) == len(OPERATORS) * len(PROVINCES) * len(MONTHS)
    for c in coverage:
        assert c["subscribers"] == held[(c["source"], c["province"])] == len(seen[(c["source"], c["province"],
                                                                                   c["month"])])


def test_population_counts_every_person_in_their_province() -> None:
    s = sim()
    homes = Counter(s.people.column("province").to_pylist())
    assert s.population == {(p, m): float(homes[p]) for p in PROVINCES for m in MONTHS}
    assert sum(homes.values()) == 3000
    assert len(set(homes.values())) > 1, "provinces of unequal sizes"


def test_shares_near_their_parameters() -> None:
    s = simulate(3, persons=200_000, provinces=PROVINCES, months=MONTHS, platforms=PLATFORMS, coverage=0.8,
                 multi_sim=0.2, panel_size=0)
    covered = np.array(s.people.column("covered").to_pylist())
    sims = np.array(s.people.column("sims").to_pylist())
    assert covered.mean() == pytest.approx(0.8, abs=0.005)
    assert (sims[covered] > 1).mean() == pytest.approx(0.2, abs=0.005)
    assert sims[covered].mean() == pytest.approx(1 + 0.2 * 1.5, abs=0.01)  # 2 or 3 SIMs equally likely
    assert set(sims[~covered]) == {0}
    subscribers = Counter()  # type: Counter[str]
    for c in s.coverage.to_pylist():
        subscribers[c["source"]] += c["subscribers"]
    assert subscribers["op-a"] > subscribers["op-b"] > subscribers["op-c"]
    assert s.sources == [SourceSpec(op, "census", "shared") for op in OPERATORS]


def test_activity_does_not_depend_on_the_sims() -> None:
    """The covered persons are a random sample of the province: they are as active as the others."""
    s = simulate(5, persons=60_000, provinces=PROVINCES, months=MONTHS[:1], platforms=PLATFORMS, coverage=0.5,
                 multi_sim=0.5, panel_size=60_000)
    sims = dict(zip(s.people.column(PANEL).to_pylist(), s.people.column("sims").to_pylist(), strict=True))
    active = {(r["person"], r["platform"]) for r in rows_of(s, PANEL)}
    for platform in PLATFORMS:
        rate = {n: np.mean([(k, platform) in active for k, m in sims.items() if m == n]) for n in (0, 1, 2, 3)}
        assert max(rate.values()) - min(rate.values()) < 0.03, (platform, rate)


def test_everyone_active_makes_every_person_active_somewhere_each_month() -> None:
    s = sim(panel_size=3000, everyone_active=True)
    months = Counter(m for _, m in {(r["person"], r["month"]) for r in rows_of(s, PANEL)})
    assert months == dict.fromkeys(MONTHS, 3000)
    assert Counter(m for _, m in {(r["person"], r["month"]) for r in rows_of(sim(panel_size=3000), PANEL)})[
        MONTHS[0]] < 3000


def test_person_day_rows_are_well_formed() -> None:
    s = sim()
    assert s.person_day.column_names == ["source", *PERSON_DAY_COLUMNS]
    rows = s.person_day.to_pylist()
    assert len({(r["source"], r["platform"], r["person"], r["month"]) for r in rows}) == len(rows)
    for r in rows:
        assert r["active"] and r["active_seconds"] > 0 and r["bytes"] > 0 and r["sessions"] > 0
        assert r["installs"] in (0, 1) and r["province_seconds"] == r["active_seconds"]
        assert isinstance(r["day"], date) and r["day"].strftime("%Y-%m") == r["month"]
    assert {r["source"] for r in rows} == {*OPERATORS, PANEL}


def test_panel_is_stratified_with_proportional_allocation() -> None:
    s = sim(panel_size=300)
    weights = s.weights.to_pylist()
    home = dict(zip(s.people.column(PANEL).to_pylist(), s.people.column("province").to_pylist(), strict=True))
    home.pop(None, None)
    assert {w["person"] for w in weights} == set(home) and len(weights) == len(home) * len(MONTHS)
    panelists = Counter(home.values())
    assert sum(panelists.values()) == 300 and min(panelists.values()) >= 2
    total: Counter[tuple[object, object]] = Counter()
    for w in weights:
        province = home[w["person"]]
        assert w["weight"] == s.population[(province, w["month"])] / panelists[province]
        total[(province, w["month"])] += w["weight"]
    for key, persons in s.population.items():
        assert total[key] == pytest.approx(persons)
        assert abs(panelists[key[0]] - 300 * persons / 3000) <= 1  # proportional, to the nearest person
    assert rows_of(s, PANEL) and {r["person"] for r in rows_of(s, PANEL)} <= set(home)


def test_small_province_gets_two_panelists() -> None:
    s = simulate(2, persons=2000, provinces=["01", "02", "03"], months=MONTHS[:1], platforms=PLATFORMS,
                 panel_size=20)
    panelists = Counter(p for p, k in zip(s.people.column("province").to_pylist(),
                                          s.people.column(PANEL).to_pylist(), strict=True) if k is not None)
    assert min(panelists.values()) >= 2 and len(panelists) == 3


def test_same_seed_same_simulation() -> None:
    a, b, c = sim(11), sim(11), sim(12)
    for name in ("person_day", "weights", "coverage", "truth", "people"):
        assert getattr(a, name).equals(getattr(b, name)), name
    assert a.population == b.population
    assert not a.person_day.equals(c.person_day) and not a.truth.equals(c.truth)


def test_shared_keys_name_a_person_alike_at_every_operator() -> None:
    s = sim(multi_sim=0.5)
    for p in s.people.to_pylist():
        keys = {p[op] for op in OPERATORS} - {None}
        assert len(keys) == min(p["sims"], 1)
    per_key = Counter(k for k, _ in {(r["person"], r["source"]) for r in rows_of(s, *OPERATORS)})
    assert max(per_key.values()) == 3  # one key delivered by three operators


def test_private_keys_differ_between_operators_and_change_nothing_else() -> None:
    shared, private = sim(multi_sim=0.5), sim(multi_sim=0.5, shared_keys=False)
    assert private.sources == [SourceSpec(op, "census", "private") for op in OPERATORS] + [SourceSpec(PANEL, "panel")]
    keys = {source: {p[source] for p in private.people.to_pylist()} - {None} for source in [*OPERATORS, PANEL]}
    for a, keys_a in keys.items():
        for b, keys_b in keys.items():
            assert a == b or not keys_a & keys_b, (a, b)
    per_key = Counter(k for k, _ in {(r["person"], r["source"]) for r in rows_of(private, *OPERATORS)})
    assert set(per_key.values()) == {1}
    # the same persons, SIMs and activity: only the operators' person keys differ
    for name in ("weights", "coverage", "truth"):
        assert getattr(shared, name).equals(getattr(private, name)), name
    assert shared.person_day.drop_columns(["person"]).equals(private.person_day.drop_columns(["person"]))
    assert not shared.person_day.column("person").equals(private.person_day.column("person"))


def test_full_coverage_without_a_panel() -> None:
    s = sim(coverage=1.0, panel_size=0)
    assert s.weights.num_rows == 0 and PANEL not in s.person_day.column("source").to_pylist()
    assert s.sources == [SourceSpec(op, "census", "shared") for op in OPERATORS]


def test_small_population_simulates_in_well_under_a_tenth_of_a_second() -> None:
    sim(0)
    best = float("inf")
    for seed in range(5):
        start = time.perf_counter()
        sim(seed)
        best = min(best, time.perf_counter() - start)
    assert best < 0.05


def test_unserved_provinces_have_no_subscribers_but_panelists() -> None:
    s = sim(unserved=["02", "11"])
    covered = Counter(p for p, c in zip(s.people.column("province").to_pylist(),
                                        s.people.column("covered").to_pylist(), strict=True) if c)
    assert covered["02"] == covered["11"] == 0 and all(covered[p] > 0 for p in ("01", "04", "08", "12"))
    assert {c["province"] for c in s.coverage.to_pylist() if c["subscribers"] == 0} == {"02", "11"}
    assert {r["province"] for r in rows_of(s, *OPERATORS)} == {"01", "04", "08", "12"}
    assert {r["province"] for r in rows_of(s, PANEL)} == set(PROVINCES)
    assert s.truth.equals(sim().truth), "the same persons and activity"
    with pytest.raises(ValueError, match="99"):
        sim(unserved=["99"])


def test_replications_are_stacked_as_months() -> None:
    assert replication_months(14)[::12] == ["2001-01", "2002-01"] and replication_months(14)[-1] == "2002-02"
    stacked = replicate(5, 3, persons=500, provinces=PROVINCES, platforms=PLATFORMS, coverage=0.7, panel_size=50)
    assert stacked.person_day.column("month").unique().to_pylist() == replication_months(3)
    for r, month in enumerate(replication_months(3)):
        alone = simulate((5, r), persons=500, provinces=PROVINCES, months=[month], platforms=PLATFORMS,
                         coverage=0.7, panel_size=50)
        for name in ("person_day", "weights", "coverage", "truth"):
            table = getattr(stacked, name)
            assert table.filter(pc.equal(table["month"], month)).equals(getattr(alone, name)), (month, name)
        assert {k: v for k, v in stacked.population.items() if k[1] == month} == alone.population
    assert stacked.people.column("person").to_pylist() == list(range(1500))
    later = replicate(5, 2, persons=500, provinces=PROVINCES, platforms=PLATFORMS, coverage=0.7, panel_size=50,
                      start=1)
    assert later.truth.equals(stacked.truth.slice(stacked.truth.num_rows // 3))
    assert later.people.column("person").to_pylist() == list(range(500, 1500))
