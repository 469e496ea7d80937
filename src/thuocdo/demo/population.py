"""A synthetic population with a known truth, to check the national estimator by simulation.

Every person of a country is drawn, with what the operators and a panel would deliver about them, so that an
estimate made from the deliveries can be set against the true number of active persons.

**Persons.** Each person lives in one province (unequal sizes: log-normal shares) for the whole period, so the
population of a province is the same every month and a person-month's province is the home province.

**SIMs.** A ``coverage`` share of persons (a Bernoulli draw per person) are subscribers of at least one
*delivering* operator; the others hold SIMs only at operators that deliver no data and are never seen by them.
A covered person holds 1 SIM with probability ``1 - multi_sim``, else 2 or 3 (equally likely, at most one per
operator), at distinct delivering operators drawn without replacement by the operators' market shares in the
province (``operator_shares`` × a log-normal factor per province and operator, so that shares differ between
provinces). SIMs do not change between months: an operator's subscribers in a province are the persons holding
one of its SIMs there, the figure its coverage file declares. In the ``unserved`` provinces nobody holds a
delivering SIM (the coverage files declare 0 there): only the panel sees them.

**Activity**, independent of the SIMs (so that the covered persons are a random sample of the province and a
ratio estimator is unbiased): a person is active on a platform in a month with probability platform reach ×
province factor × person propensity (log-normal, mean 1, fixed over the period), capped at 0.99, drawn anew
each month. With ``everyone_active`` a person active on no platform in a month is made active on one platform
drawn at random. Why: an operator's data show only its *active* subscribers, so the mean number of SIMs per
covered person (the multiplicity that turns declared subscribers into distinct persons) can only be measured on
the active ones; when everyone is active it is measured on every subscriber, exactly. With full coverage the
union of the operators then counts every person, and the national estimate must equal the truth with no
sampling error.

**Deliveries.** One person-day row per operator × person × platform × month in which the person is active and
holds a SIM at the operator (a random day of the month, the same for every SIM). A multi-SIM person's activity
is seen by each of their operators: the month's seconds, bytes and sessions are split between the SIMs (each
at least 1; the parts add up to the person's totals); an install is carried by the first SIM. With
``shared_keys`` a person has the same key at every operator (the operators pseudonymise with one shared key),
otherwise each operator has its own random 63-bit keys. The panel is a sample stratified by province with
proportional allocation (at least 2 per province), each panelist weighted by the province's persons ÷ its
panelists, delivering all of its members' activity under its own keys.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from thuocdo.metrics.national import SourceSpec

PANEL = "panel"
#: the spread (sigma of the log) of province sizes, province activity factors, person propensities and the
#: provincial deviations of market shares
SIGMA_SIZE = 0.7
SIGMA_PROVINCE = 0.25
SIGMA_PROPENSITY = 0.5
SIGMA_SHARE = 0.3
ACTIVE_CAP = 0.99
MIN_PANELISTS = 2
INSTALL_RATE = 0.05
MIN_UNITS = 3  # seconds, bytes and sessions of an active person-platform-month: enough for one per SIM


@dataclass(frozen=True)
class Simulation:
    #: source + the person_day columns of ``rollups.definitions.PERSON_DAY_COLUMNS``
    person_day: pa.Table
    #: the panel's weights: source, person, month, weight
    weights: pa.Table
    #: each operator's true subscribers: source, province, month, subscribers
    coverage: pa.Table
    #: (province, month) → persons living in the province
    population: dict[tuple[str, str], float]
    #: platform, month, province, mau (distinct active persons), active_seconds, bytes: every combination
    truth: pa.Table
    #: the operators (census, with shared or private keys) and the panel, for the national estimator
    sources: list[SourceSpec]
    #: the latent persons: person (index), province, covered, sims (SIMs at delivering operators), and one
    #: column per source with the person's key there (null when not its subscriber or panelist)
    people: pa.Table


def operator_names(count: int) -> list[str]:
    """``op-a``, ``op-b``, …"""
    if not 0 < count <= 26:
        raise ValueError(f"operators: between 1 and 26, not {count}")
    return [f"op-{chr(ord('a') + i)}" for i in range(count)]


def _unique_keys(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` distinct random keys in [1, 2**63 - 1) (a duplicate, about never drawn, is drawn again)."""
    keys = rng.integers(1, 2**63 - 1, count, dtype=np.int64)
    while np.unique(keys).size < count:
        _, first = np.unique(keys, return_index=True)
        again = np.setdiff1d(np.arange(count), first)
        keys[again] = rng.integers(1, 2**63 - 1, again.size, dtype=np.int64)
    return keys


def _sims(rng: np.random.Generator, home: np.ndarray, shares: np.ndarray, coverage: float, multi_sim: float,
          served: np.ndarray) -> np.ndarray:
    """(persons, operators) True where the person holds a SIM of the delivering operator; nobody of a
    province not ``served`` does."""
    n, ops = home.size, shares.shape[1]
    covered = (rng.random(n) < coverage) & served[home]
    count = np.where(rng.random(n) < multi_sim, 2 + rng.integers(0, 2, n), 1)
    count = np.minimum(count, ops) * covered
    # weighted sampling without replacement: the `count` smallest exponential clocks of rates `shares`
    order = np.argsort(rng.exponential(size=(n, ops)) / shares[home], axis=1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(ops)[None, :], axis=1)
    sims: np.ndarray = rank < count[:, None]
    return sims


def _panel(rng: np.random.Generator, home: np.ndarray, provinces: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The panelists (indices of persons) and each province's panelists: proportional allocation by largest
    remainders, at least ``MIN_PANELISTS`` (or every person of a smaller province), at most everyone."""
    sizes = np.bincount(home, minlength=provinces)
    if size <= 0:
        return np.empty(0, dtype=np.int64), np.zeros(provinces, dtype=np.int64)
    quota = size * sizes / sizes.sum()
    alloc = np.floor(quota).astype(np.int64)
    left = size - int(alloc.sum())
    alloc[np.argsort(-(quota - alloc), kind="stable")[:left]] += 1
    alloc = np.minimum(np.maximum(alloc, MIN_PANELISTS), sizes)
    # a random order within each province; its first alloc[p] persons are the province's panelists
    order = np.lexsort((rng.random(home.size), home))
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.arange(home.size) - start[home[order]]
    members = np.sort(order[rank < alloc[home[order]]])
    return members, alloc


def replication_months(count: int) -> list[str]:
    """The month labels of ``count`` replications stacked by :func:`replicate`: 2001-01, 2001-02, …"""
    return [f"{2001 + r // 12}-{r % 12 + 1:02d}" for r in range(count)]


def replicate(seed: int, replications: int, *, persons: int, provinces: Sequence[str], platforms: Sequence[str],
              start: int = 0, **options: Any) -> Simulation:
    """Replications ``start``, …, ``start + replications - 1``: independent one-month simulations (seeds
    ``(seed, r)``; ``options`` as for :func:`simulate`) stacked as one, replication ``r`` as month ``r`` of
    :func:`replication_months`: an estimator that works month by month estimates them all in one call. The
    people of replication ``r`` are numbered from ``r * persons``."""
    months = replication_months(start + replications)[start:]
    sims = [simulate((seed, r), persons=persons, provinces=provinces, months=[month], platforms=platforms,
                     **options) for r, month in enumerate(months, start)]
    people = [s.people.set_column(0, "person", pa.array(np.arange(persons) + r * persons, pa.int64()))
              for r, s in enumerate(sims, start)]
    return Simulation(
        person_day=pa.concat_tables([s.person_day for s in sims]),
        weights=pa.concat_tables([s.weights for s in sims]),
        coverage=pa.concat_tables([s.coverage for s in sims]),
        population={k: v for s in sims for k, v in s.population.items()},
        truth=pa.concat_tables([s.truth for s in sims]),
        sources=sims[0].sources,
        people=pa.concat_tables(people),
    )


@dataclass(frozen=True)
class _People:
    """The latent persons: home province, SIMs, panel membership and keys."""
    home: np.ndarray  # (persons,) province index
    sims: np.ndarray  # (persons, operators) holds a SIM of the delivering operator
    members: np.ndarray  # indices of the panelists
    panelists: np.ndarray  # (provinces,) panelists per province
    op_keys: np.ndarray  # (persons, operators) the person's key at each operator
    panel_keys: np.ndarray  # (persons,) the panelist's key (0 for others)

    @property
    def sizes(self) -> np.ndarray:
        return np.bincount(self.home, minlength=self.panelists.size)


def simulate(seed: int | Sequence[int], *, persons: int, provinces: Sequence[str], months: Sequence[str],
             platforms: Sequence[str], operator_shares: Sequence[float] = (0.5, 0.3, 0.2),
             coverage: float = 0.85, multi_sim: float = 0.2, shared_keys: bool = True, panel_size: int = 500,
             everyone_active: bool = False, unserved: Sequence[str] = ()) -> Simulation:
    """A population of ``persons`` with its operators' deliveries (one operator per entry of
    ``operator_shares``: ``op-a``, ``op-b``, …), a panel of about ``panel_size`` persons (none when 0) and the
    truth. ``coverage=1.0`` makes every person a subscriber of a delivering operator. No delivering operator has
    subscribers in the ``unserved`` provinces (their coverage files say 0): only the panel measures them, and
    ``coverage`` is the share of covered persons in the other provinces.

    The persons and their SIMs, the panel, the keys, the activity and its split between SIMs are drawn from
    separate streams of the seed: with one seed, private and shared keys, another panel size or other
    unserved provinces give the same persons and the same activity.

    >>> sim = simulate(1, persons=2000, provinces=["01", "02"], months=["2024-01"], platforms=["zalo"],
    ...                coverage=1.0, everyone_active=True)
    >>> sim.truth.column("mau").to_pylist() == [sim.population[(p, "2024-01")] for p in ("01", "02")]
    True
    """
    if not 0.0 <= coverage <= 1.0 or not 0.0 <= multi_sim <= 1.0:
        raise ValueError(f"coverage and multi_sim are shares in [0, 1], not {coverage} and {multi_sim}")
    people_rng, panel_rng, key_rng, activity_rng, split_rng = (np.random.default_rng(s)
                                                               for s in np.random.SeedSequence(seed).spawn(5))
    operators = operator_names(len(operator_shares))
    if set(unserved) - set(provinces):
        raise ValueError(f"unserved provinces not among the provinces: {sorted(set(unserved) - set(provinces))}")
    served = np.array([p not in unserved for p in provinces])
    people = _draw_people(people_rng, panel_rng, key_rng, persons, served, operator_shares, coverage,
                          multi_sim, shared_keys, panel_size)
    rows, truth = _draw_activity(activity_rng, split_rng, people, months, len(platforms), everyone_active)

    sources = [SourceSpec(op, "census", "shared" if shared_keys else "private") for op in operators]
    if people.members.size:
        sources.append(SourceSpec(PANEL, "panel", "private"))
    province_names, month_names = pa.array(list(provinces)), pa.array(list(months))
    sizes = people.sizes
    return Simulation(
        person_day=_person_day(rows, pa.array([*operators, PANEL]), pa.array(list(platforms)), month_names,
                               province_names),
        weights=_weights(people, month_names),
        coverage=_coverage(people, operators, province_names, month_names),
        population={(p, mo): float(sizes[i]) for mo in months for i, p in enumerate(provinces)},
        truth=_truth(truth, list(platforms), list(months), list(provinces)),
        sources=sources,
        people=_people_table(people, province_names, operators),
    )


def _draw_people(rng: np.random.Generator, panel_rng: np.random.Generator, key_rng: np.random.Generator,
                 persons: int, served: np.ndarray, operator_shares: Sequence[float], coverage: float,
                 multi_sim: float, shared_keys: bool, panel_size: int) -> _People:
    ops, n_prov = len(operator_shares), served.size
    home = rng.choice(n_prov, size=persons, p=_normalised(rng.lognormal(0.0, SIGMA_SIZE, n_prov)))
    shares = np.asarray(operator_shares, dtype=float)[None, :] * rng.lognormal(0.0, SIGMA_SHARE, (n_prov, ops))
    shares /= shares.sum(axis=1, keepdims=True)
    sims = _sims(rng, home, shares, coverage, multi_sim, served)
    members, panelists = _panel(panel_rng, home, n_prov, panel_size)
    # the panel's own keys; the operators': one per person (shared) or one per person and operator (private)
    panel_keys = np.zeros(persons, dtype=np.int64)
    panel_keys[members] = _unique_keys(panel_rng, members.size)
    op_keys = (np.repeat(_unique_keys(key_rng, persons)[:, None], ops, axis=1) if shared_keys
               else _unique_keys(key_rng, persons * ops).reshape(persons, ops))
    return _People(home, sims, members, panelists, op_keys, panel_keys)


Columns = dict[str, list[np.ndarray]]


def _draw_activity(rng: np.random.Generator, split_rng: np.random.Generator, people: _People,
                   months: Sequence[str], n_plat: int, everyone_active: bool) -> tuple[Columns, Columns]:
    """The person-day rows of every source (as indices and values) and the true totals per cell. The activity
    is drawn from ``rng`` alone, its split between SIMs from ``split_rng``: the SIMs change no activity."""
    home, sims = people.home, people.sims
    persons, ops, n_prov = home.size, sims.shape[1], people.panelists.size
    cells = n_plat * n_prov
    reach = rng.uniform(0.25, 0.75, n_plat)
    province_factor = rng.lognormal(0.0, SIGMA_PROVINCE, n_prov)
    propensity = _lognormal(rng, SIGMA_PROPENSITY, persons)
    minutes = rng.uniform(60.0, 600.0, n_plat)  # mean minutes of a user-month
    byte_rate = rng.uniform(5e4, 5e5, n_plat)  # bytes per active second
    sessions_mean = rng.uniform(5.0, 40.0, n_plat)
    prob = np.minimum(reach[:, None] * (province_factor[home] * propensity)[None, :], ACTIVE_CAP)  # (plat, persons)
    holders = sims.sum(axis=1)
    in_panel = np.zeros(persons, dtype=bool)
    in_panel[people.members] = True

    rows: Columns = {c: [] for c in ("source", "platform", "person", "day", "month", "seconds", "bytes",
                                     "sessions", "installs", "province")}
    truth: Columns = {c: [] for c in ("mau", "seconds", "bytes")}
    for m, month in enumerate(months):
        active = rng.random((n_plat, persons)) < prob
        if everyone_active:
            idle = np.nonzero(~active.any(axis=0))[0]
            active[rng.integers(0, n_plat, idle.size), idle] = True
        plat, who = np.nonzero(active)  # platform-major
        count = who.size
        seconds = MIN_UNITS + np.round(minutes[plat] * 60 * _lognormal(rng, 1.0, count)).astype(np.int64)
        data = MIN_UNITS + np.round(seconds * byte_rate[plat] * _lognormal(rng, 0.3, count)).astype(np.int64)
        sessions = MIN_UNITS + rng.poisson(sessions_mean[plat])
        installs = (rng.random(count) < INSTALL_RATE).astype(np.int64)
        day = np.datetime64(f"{month}-01", "D") + rng.integers(0, _days_in(month), count).astype("timedelta64[D]")

        cell = plat * n_prov + home[who]  # platform-major, as the truth table is ordered
        truth["mau"].append(np.bincount(cell, minlength=cells).astype(np.int64))
        truth["seconds"].append(_int_sums(cell, seconds, cells))
        truth["bytes"].append(_int_sums(cell, data, cells))

        seen = np.nonzero(holders[who] > 0)[0]  # rows of covered persons
        seen_sims = sims[who[seen]]
        parts = _split(split_rng, seen_sims, seconds[seen], data[seen], sessions[seen])
        first = np.argmax(seen_sims, axis=1)
        for o in range(ops):
            sel = np.nonzero(seen_sims[:, o])[0]
            r = seen[sel]
            _append(rows, source=np.full(sel.size, o), platform=plat[r], person=people.op_keys[who[r], o],
                    day=day[r], month=np.full(sel.size, m), seconds=parts[0][sel, o], bytes=parts[1][sel, o],
                    sessions=parts[2][sel, o], installs=installs[r] * (first[sel] == o), province=home[who[r]])
        r = np.nonzero(in_panel[who])[0]
        _append(rows, source=np.full(r.size, ops), platform=plat[r], person=people.panel_keys[who[r]], day=day[r],
                month=np.full(r.size, m), seconds=seconds[r], bytes=data[r], sessions=sessions[r],
                installs=installs[r], province=home[who[r]])
    return rows, truth


def _split(rng: np.random.Generator, sims: np.ndarray, *totals: np.ndarray) -> list[np.ndarray]:
    """Each of ``totals`` split over the SIMs with one set of random shares (a SIM carrying more of the time
    carries more of the data and of the sessions)."""
    weights = rng.gamma(2.0, size=sims.shape) * sims
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-300)
    count = sims.sum(axis=1)
    last = sims.shape[1] - 1 - np.argmax(sims[:, ::-1], axis=1)
    rows = np.arange(sims.shape[0])
    out = []
    for total in totals:
        parts = np.where(sims, 1 + np.floor((total - count)[:, None] * weights), 0).astype(np.int64)
        parts[rows, last] += total - parts.sum(axis=1)
        out.append(parts)
    return out


def _normalised(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = x / x.sum()
    return out


def _lognormal(rng: np.random.Generator, sigma: float, size: int) -> np.ndarray:
    """Log-normal factors with mean 1."""
    return rng.lognormal(-sigma * sigma / 2, sigma, size)


def _days_in(month: str) -> int:
    year, mon = (int(x) for x in month.split("-"))
    return calendar.monthrange(year, mon)[1]


def _int_sums(cell: np.ndarray, values: np.ndarray, cells: int) -> np.ndarray:
    """Exact integer sums of ``values`` per cell (a float bincount would round sums past 2**53)."""
    out = np.zeros(cells, dtype=np.int64)
    np.add.at(out, cell, values)
    return out


def _append(rows: dict[str, list[np.ndarray]], **columns: np.ndarray) -> None:
    for name, values in columns.items():
        rows[name].append(values)


def _person_day(rows: dict[str, list[np.ndarray]], sources: pa.Array, platforms: pa.Array, months: pa.Array,
                provinces: pa.Array) -> pa.Table:
    col = {name: np.concatenate(parts) for name, parts in rows.items()}
    seconds = pa.array(col["seconds"], pa.int64())
    return pa.table({
        "source": sources.take(pa.array(col["source"], pa.int64())),
        "platform": platforms.take(pa.array(col["platform"], pa.int64())),
        "person": pa.array(col["person"], pa.int64()),
        "day": pa.array(col["day"], pa.date32()),
        "month": months.take(pa.array(col["month"], pa.int64())),
        "active_seconds": seconds,
        "bytes": pa.array(col["bytes"], pa.int64()),
        "sessions": pa.array(col["sessions"], pa.int64()),
        "installs": pa.array(col["installs"], pa.int64()),
        "active": pa.array(np.ones(len(seconds), dtype=bool)),
        "province": provinces.take(pa.array(col["province"], pa.int64())),
        "province_seconds": seconds,
    })


def _weights(people: _People, months: pa.Array) -> pa.Table:
    """Each panelist's weight every month: the province's persons ÷ its panelists."""
    members, m = people.members, len(months)
    weight = (people.sizes / np.maximum(people.panelists, 1))[people.home[members]].astype(float)
    return pa.table({
        "source": pa.array([PANEL] * (members.size * m), pa.string()),
        "person": pa.array(np.tile(people.panel_keys[members], m), pa.int64()),
        "month": months.take(pa.array(np.repeat(np.arange(m), members.size), pa.int64())),
        "weight": pa.array(np.tile(weight, m), pa.float64()),
    })


def _coverage(people: _People, operators: list[str], provinces: pa.Array, months: pa.Array) -> pa.Table:
    """Every operator × province × month with the operator's subscribers there (zero included)."""
    ops, m, n_prov = len(operators), len(months), people.panelists.size
    subs = np.stack([np.bincount(people.home[people.sims[:, o]], minlength=n_prov) for o in range(ops)])
    o, mo, p = (a.ravel() for a in np.meshgrid(np.arange(ops), np.arange(m), np.arange(n_prov), indexing="ij"))
    return pa.table({
        "source": pa.array(operators).take(pa.array(o, pa.int64())),
        "province": provinces.take(pa.array(p, pa.int64())),
        "month": months.take(pa.array(mo, pa.int64())),
        "subscribers": pa.array(subs[o, p], pa.int64()),
    })


def _truth(truth: dict[str, list[np.ndarray]], platforms: list[str], months: list[str],
           provinces: list[str]) -> pa.Table:
    """Every platform × month × province (month-major in the arrays, platform-major within a month)."""
    n_plat, n_prov, m = len(platforms), len(provinces), len(months)
    mo, k, p = (a.ravel() for a in np.meshgrid(np.arange(m), np.arange(n_plat), np.arange(n_prov), indexing="ij"))
    return pa.table({
        "platform": pa.array(platforms).take(pa.array(k, pa.int64())),
        "month": pa.array(months).take(pa.array(mo, pa.int64())),
        "province": pa.array(provinces).take(pa.array(p, pa.int64())),
        "mau": pa.array(np.concatenate(truth["mau"]), pa.int64()),
        "active_seconds": pa.array(np.concatenate(truth["seconds"]), pa.int64()),
        "bytes": pa.array(np.concatenate(truth["bytes"]), pa.int64()),
    })


def _people_table(people: _People, provinces: pa.Array, operators: list[str]) -> pa.Table:
    holders = people.sims.sum(axis=1)
    in_panel = np.zeros(holders.size, dtype=bool)
    in_panel[people.members] = True
    columns: dict[str, pa.Array] = {
        "person": pa.array(np.arange(holders.size), pa.int64()),
        "province": provinces.take(pa.array(people.home, pa.int64())),
        "covered": pa.array(holders > 0),
        "sims": pa.array(holders, pa.int64()),
    }
    for o, op in enumerate(operators):
        columns[op] = pa.array(people.op_keys[:, o], pa.int64(), mask=~people.sims[:, o])
    columns[PANEL] = pa.array(people.panel_keys, pa.int64(), mask=~in_panel)
    return pa.table(columns)
