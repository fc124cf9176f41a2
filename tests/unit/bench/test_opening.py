"""The opening-day bench's accounting: fairness, the verdict, reading the queue page."""

from __future__ import annotations

from bench import opening


def test_a_refusal_sent_well_before_an_acceptance_is_an_inversion():
    cell, other = ("s1", "2", "2026-12-14"), ("s2", "2", "2026-12-14")
    requests = [
        (cell, 10.0, 200),
        (cell, 10.5, 200),
        (cell, 11.2, 409),  # after the places went: in order
        (cell, 10.8, 409),  # in flight with the last acceptance: within the tolerance
        (other, 5.0, 409),
        (other, 7.5, 200),  # a place freed later went to a later request: an inversion
        (other, 8.0, 500),  # an error is not a place
    ]
    assert opening.fairness(requests) == {
        "contested_cells": 2,
        "refused": 3,
        "inversions": 1,
        "share_in_order": round(1 - 1 / 3, 4),
    }
    assert opening.fairness([(cell, 1.0, 200)])["share_in_order"] == 1.0


def _results(**changes):
    base = {
        "errors": {},
        "capacity_after": {"over_capacity": 0, "drift": 0, "slots": 3, "full": 1},
        "fairness": {"inversions": 0, "contested_cells": 1, "share_in_order": 1.0},
        "logged_in": 5,
        "families": 5,
    }
    return base | changes


def test_the_verdict_needs_no_error_no_overbooking_no_inversion_and_everyone_in():
    assert opening.verdict(_results())
    assert not opening.verdict(_results(errors={"POST /connexion 500": 1}))
    assert not opening.verdict(
        _results(capacity_after={"over_capacity": 1, "drift": 0, "slots": 3, "full": 1})
    )
    assert not opening.verdict(_results(fairness={"inversions": 2}))
    assert not opening.verdict(_results(logged_in=4))


def test_the_queue_page_refresh_is_read_as_a_browser_reads_it():
    header = "7; url=/connexion/attente?ticket=family.1.a.b&next=%2Ffamille%2F"
    match = opening.REFRESH_RE.fullmatch(header)
    assert match.group(1) == "7"
    assert match.group(2) == "/connexion/attente?ticket=family.1.a.b&next=%2Ffamille%2F"
    assert opening.REFRESH_RE.fullmatch("") is None
