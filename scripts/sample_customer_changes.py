"""The customers change feed of the samples: two days of CDC files, in the layout DMS writes.

Called by ``generate_sample_data.py`` (which writes the files and MANIFEST.json). The feed is
built as a true commit history (every change with its commit time and a change sequence number
in commit order), then delivered: most changes on the day they were committed, a few a day
late, one twice. Each planted case is listed in the manifest under ``cdc_cases``.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field

DAYS = ("2026-11-01", "2026-11-02")
CASES = {
    "insert": "insert of a new customer",
    "update": "update of a live customer",
    "duplicate": "the same change delivered twice in one file",
    "delete": "delete of a live customer",
    "same_second": "two updates of a customer in the same second, ordered by change_seq",
    "several_in_batch": "update, then delete of one customer in one batch",
    "delete_before_insert": "delete delivered on day 1, its insert (committed earlier) on day 2",
    "late_update": "update committed before the customer's 13:00 update, delivered a day later",
    "late_delete": "delete committed before the customer's 18:00 update, delivered a day later",
    "redelivered": "a day-1 change delivered again in the day-2 file",
    "insert_after_delete": "a customer deleted on day 1 comes back",
    "no_op": "update that repeats the current values",
}
HEADER = ["op", "changed_at", "change_seq", "customer_id", "name", "city", "plan"]
FIRST = ("Ada", "Bo", "Cleo", "Dan", "Eva", "Finn", "Greta", "Hugo", "Ines", "Jon", "Kaia", "Leo")
LAST = ("Berg", "Costa", "Dahl", "Engel", "Fox", "Gray", "Holm", "Ito", "Jansen", "Kova")
CITIES = ("Oslo", "Bergen", "Lyon", "Porto", "Graz", "Turku", "Gent", "Cork")
PLANS = ("free", "pro", "team")


@dataclass
class Change:
    """One committed change; ``day`` is the day its file is delivered."""

    op: str
    at: str
    customer: str
    values: tuple[str, str, str]
    day: str
    case: str | None = None
    seq: int = 0
    copies: int = 1  # delivered this many times in its file
    late_copy: bool = False  # delivered again in the next day's file


@dataclass
class Feed:
    changes: list[Change] = field(default_factory=list)
    state: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    def add(
        self,
        op: str,
        at: str,
        customer: str,
        day: str,
        values: tuple[str, str, str] | None = None,
        **kw: object,
    ) -> Change:
        vals = values or self.state.get(customer) or ("", "", "")
        change = Change(op, at, customer, vals, day, **kw)  # type: ignore[arg-type]
        self.changes.append(change)
        if op != "D":
            self.state[customer] = vals
        return change


def _customer(n: int) -> str:
    return f"cus-{n:04d}"


def _person(rng: random.Random) -> tuple[str, str, str]:
    return (f"{rng.choice(FIRST)} {rng.choice(LAST)}", rng.choice(CITIES), rng.choice(PLANS))


def _other(rng: random.Random, current: str, choices: tuple[str, ...]) -> str:
    return rng.choice([c for c in choices if c != current])


def _update(feed: Feed, rng: random.Random, at: str, n: int, day: str, what: str, **kw: object) -> Change:
    """An update of customer ``n`` that moves its ``what`` (city or plan) to another value."""
    name, city, plan = feed.state[_customer(n)]
    if what == "city":
        values = (name, _other(rng, city, CITIES), plan)
    else:
        values = (name, city, _other(rng, plan, PLANS))
    return feed.add("U", at, _customer(n), day, values, **kw)


def _history(rng: random.Random) -> Feed:
    feed = Feed()
    d1, d2 = DAYS
    for n in range(1, 17):
        feed.add("I", f"{d1} {8 + n // 5:02d}:{(n * 7) % 60:02d}:00", _customer(n), d1, _person(rng))
    name, city, plan = _person(rng)
    feed.add("I", f"{d1} 09:30:00", _customer(17), d2, (name, city, plan), case="delete_before_insert")
    c2 = feed.state[_customer(2)]
    feed.add(
        "U",
        f"{d1} 12:30:00",
        _customer(2),
        d2,
        (c2[0], _other(rng, c2[1], CITIES), c2[2]),
        case="late_update",
    )
    feed.add(
        "U", f"{d1} 13:00:00", _customer(2), d1, (c2[0], c2[1], _other(rng, c2[2], PLANS)), case="update"
    )
    _update(feed, rng, f"{d1} 13:15:00", 3, d1, "plan", case="duplicate", copies=2)
    feed.add("D", f"{d1} 14:00:00", _customer(5), d1, case="delete")
    _update(feed, rng, f"{d1} 15:00:00", 7, d1, "city", case="same_second")
    _update(feed, rng, f"{d1} 15:00:00", 7, d1, "plan", case="same_second")
    feed.add("D", f"{d1} 16:00:00", _customer(17), d1, (name, city, plan), case="delete_before_insert")
    _update(feed, rng, f"{d1} 16:30:00", 8, d1, "city", case="several_in_batch")
    feed.add("D", f"{d1} 17:00:00", _customer(8), d1, case="several_in_batch")
    feed.add("D", f"{d1} 17:30:00", _customer(13), d2, case="late_delete")
    _update(feed, rng, f"{d1} 18:00:00", 13, d1, "city", case="late_delete")
    feed.changes[0].late_copy = True  # cus-0001's insert is delivered again on day 2
    feed.changes[0].description = "day-1 insert delivered again in the day-2 file"
    feed.add("I", f"{d2} 09:00:00", _customer(5), d2, _person(rng), case="insert_after_delete")
    feed.add("U", f"{d2} 09:10:00", _customer(4), d2, feed.state[_customer(4)], case="no_op")
    feed.add("D", f"{d2} 09:20:00", _customer(10), d2, case="delete")
    _update(feed, rng, f"{d2} 09:30:00", 11, d2, "city", case="update")
    for n in range(18, 21):
        feed.add("I", f"{d2} {10 + n - 18:02d}:05:00", _customer(n), d2, _person(rng), case="insert")
    return feed


def _line(c: Change) -> list[str]:
    name, city, plan = c.values
    return [c.op, c.at, str(c.seq), c.customer, name, city, plan]


def build(seed: int) -> tuple[list[dict], list[dict]]:
    """The feed's files (path, dataset, day, header, text) and its planted cases."""
    feed = _history(random.Random(seed))
    for seq, change in enumerate(sorted(feed.changes, key=lambda c: c.at), start=1001):
        change.seq = seq  # sorted() is stable: changes in one second keep their commit order
    files: dict[str, list[tuple[Change, list[str], str | None]]] = {}
    day1 = sorted((c for c in feed.changes if c.day == DAYS[0]), key=lambda c: c.seq)
    half = len(day1) // 2
    for change in day1:
        name = f"landing/customers/{DAYS[0]}/customers-{DAYS[0]}-{1 if day1.index(change) < half else 2}.csv"
        case = None if change.late_copy else change.case
        files.setdefault(name, []).extend((change, _line(change), case) for _ in range(change.copies))
    day2 = f"landing/customers/{DAYS[1]}/customers-{DAYS[1]}-1.csv"
    delivered = [c for c in feed.changes if c.day == DAYS[1]] + [c for c in feed.changes if c.late_copy]
    ordered = sorted(delivered, key=lambda c: (c.at[:10] != DAYS[0], c.seq))
    files[day2] = [(c, _line(c), "redelivered" if c.late_copy else c.case) for c in ordered]
    out, cases = [], []
    for path, rows in files.items():
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(line for _, line, _ in rows)
        day = path.split("/")[2]
        out.append(
            {"path": path, "dataset": "customers", "day": day, "header": HEADER, "text": buf.getvalue()}
        )
        for i, (change, _, case) in enumerate(rows, start=2):
            if case:
                cases.append(
                    {
                        "file": path,
                        "line": i,
                        "case": case,
                        "customer_id": change.customer,
                        "op": change.op,
                        "change_seq": change.seq,
                        "description": CASES[case],
                    }
                )
    return out, cases
