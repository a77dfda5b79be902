"""profiles.yml against copier.yml, and the pairwise lane computed from it."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import profiles
from projects import ADDING_RESOURCES, ALSO_END_TO_END, COMBOS, DEFAULT, PAIRWISE, SWITCHES, Combo


@pytest.mark.parametrize("family", profiles.FAMILIES)
def test_every_choice_has_a_record_and_every_record_a_choice(family: str) -> None:
    assert list(profiles.load()[family]) == profiles.choice_values(family)


@pytest.mark.parametrize("family", [*profiles.FAMILIES, "services"])
def test_the_records_of_a_family_have_the_same_keys(family: str) -> None:
    records = profiles.load()[family]
    keys = {name: sorted(record) for name, record in records.items()}
    assert len({tuple(k) for k in keys.values()}) == 1, keys


def test_records_name_only_known_services_and_brokers() -> None:
    known = profiles.load()
    for family in ("database", "cache", "broker"):
        for record in known[family].values():
            assert set(record["services"]) <= set(known["services"])
    for tasks, record in known["tasks"].items():
        assert set(record["brokers"]) <= set(known["broker"]), tasks
        # Its libraries on each broker it runs on ('' in process).
        assert set(record["dependencies"]) == set(record["brokers"] or [""]), tasks
        assert bool(record["brokers"]) == record["worker"], tasks
        # What differs on a broker overrides the record's own fields, on a broker it runs on.
        assert set(record["on_broker"]) <= set(record["brokers"]), tasks
        for overrides in record["on_broker"].values():
            assert set(overrides) < set(record) - {"on_broker"}, tasks


def test_the_broker_is_asked_when_the_runner_runs_on_several() -> None:
    broker = profiles.questions()["broker"]
    for tasks in profiles.choice_values("tasks"):
        assert set(profiles.broker_choices(tasks)) - {None} <= set(profiles.choice_values("broker"))
    assert "brokers | length > 1" in broker["when"]


def covered(rows: list[dict[str, Any]]) -> set[tuple[str, Any, str, Any]]:
    return {
        (a, row[a], b, row[b]) for row in rows for a, b in itertools.combinations(sorted(row), 2)
    }


@pytest.mark.parametrize(
    "factors",
    [
        {"a": [1, 2, 3], "b": ["x", "y"], "c": [True, False], "d": ["p", "q", "r", "s"]},
        {"a": [1, 2], "b": [1, 2], "c": [1, 2], "d": [1, 2], "e": [1, 2], "f": [1, 2]},
        {"only": [1, 2, 3]},
    ],
    ids=["mixed", "binary", "one-factor"],
)
def test_the_covering_array_covers_every_pair(factors: dict[str, list[Any]]) -> None:
    rows = profiles.covering_array(factors, seeds=[{name: v[-1] for name, v in factors.items()}])

    wanted = {
        (a, x, b, y)
        for a, b in itertools.combinations(sorted(factors), 2)
        for x in factors[a]
        for y in factors[b]
    }
    assert wanted <= covered(rows)
    assert rows[0] == {name: values[-1] for name, values in factors.items()}
    # No bigger than the full product; well below it once there are several factors.
    assert len(rows) <= len(list(itertools.product(*factors.values())))


def test_the_pairwise_lane_covers_every_pair_of_answers() -> None:
    def row(combo: Combo) -> dict[str, Any]:
        return {
            "database": combo.database,
            "cache": combo.cache,
            "tasks": combo.tasks,
            "broker": combo.queue_broker,
            **{name: values[0] for name, values in SWITCHES},
            **dict(combo.extra),
        }

    lane = covered([row(combo) for combo in PAIRWISE])
    # Every pair that a valid combination has, with the switches at any of their values.
    names = [name for name, _ in SWITCHES]
    every = covered(
        [
            row(combo) | dict(zip(names, values, strict=True))
            for combo in COMBOS
            for values in itertools.product(*(values for _, values in SWITCHES))
        ]
    )
    assert every <= lane, every - lane
    # Every value of every question is in some combination of the lane that adds resources.
    assert set(ADDING_RESOURCES) <= set(PAIRWISE)
    for family in ("database", "cache", "tasks"):
        values = {getattr(c, family) for c in ADDING_RESOURCES}
        assert values == set(profiles.choice_values(family))
    assert {c.queue_broker for c in ADDING_RESOURCES} >= set(profiles.choice_values("broker"))
    for name, values in SWITCHES:
        assert {dict(c.extra).get(name, values[0]) for c in ADDING_RESOURCES} == set(values)
    # The default and the combinations issue 21 names stay in it.
    assert DEFAULT in PAIRWISE and set(ALSO_END_TO_END) <= set(PAIRWISE)
    # Every kind of auth, and the ones issue 21 names, run end to end.
    assert {dict(c.extra).get("auth", "none") for c in PAIRWISE} == set(
        profiles.choice_values("auth")
    )
    assert len(PAIRWISE) < len(COMBOS)
    print(f"\nend-to-end lane: {len(PAIRWISE)} of {len(COMBOS)} combinations")
    print(f"with resources added: {len(ADDING_RESOURCES)}")
