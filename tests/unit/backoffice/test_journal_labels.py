"""The journal is read by people: every action any feature records has a French label (found
in the source, so a new action without one fails here), and a line's details read in French:
amounts in euros, dates in words, field names in French, changes as « avant → après »."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import ecp
from ecp.audit.services import (
    ACTIONS,
    Names,
    day_text,
    detail_lines,
    label,
    render,
    target_text,
    value_text,
)

PACKAGE = Path(ecp.__file__).parent
# Actions built from a name at run time: ecp.booking.services' f"booking_{ACTIONS[action]}"
# and f"inscription_{...}".
COMPUTED = {"booking_book", "booking_cancel", "booking_illness"} | {
    "inscription_validate",
    "inscription_refuse",
}
# Asked of other features by this issue (see the report): their label is ready.
PROPOSED = {"staff_account_created", "effectifs_exportes"}


def _recorded_actions() -> set[str]:
    """The literal action of every record(...) / record_system(...) / record_view call."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name not in ("record", "record_system"):
                continue
            # ecp.payments.refusals.record counts a refused request by its cause: not a journal line.
            if getattr(getattr(node.func, "value", None), "id", "") == "refusals":
                continue
            index = 0 if name == "record_system" else 1
            if len(node.args) > index and isinstance(node.args[index], ast.Constant):
                if isinstance(node.args[index].value, str):
                    found.add(node.args[index].value)
    return found


def test_every_recorded_action_has_a_french_label():
    recorded = _recorded_actions()
    assert {"family_created", "paiement_guichet", "avoir_emis", "attendance_mark"} <= recorded
    missing = sorted(recorded - set(ACTIONS))
    assert missing == [], f"actions without a French label in ACTIONS: {missing}"
    assert COMPUTED | PROPOSED <= set(ACTIONS)
    for text in ACTIONS.values():
        assert text[0].isupper() and "_" not in text, text


def test_an_unknown_action_is_at_least_not_a_raw_code():
    assert label("booking_book") == "Réservation par un agent"
    assert label("quelque_chose") == "quelque chose"


def test_values_in_french():
    names = Names(
        children={3: "Léa Martin"},
        activities={2: "Garderie", "cantine": "Cantine"},
        schools={1: "École Jules-Ferry"},
    )
    assert value_text("montant_cents", 4250) == "42,50\u00a0€"
    assert value_text("amount_cents", 100) == "1,00\u00a0€"
    assert value_text("day", "2026-12-01") == "1er décembre 2026"
    assert value_text("du", "2026-12-07") == "7 décembre 2026"
    assert value_text("mois", "2026-11") == "novembre 2026"
    assert value_text("late", True) == "oui" and value_text("active", False) == "non"
    assert value_text("mode", "cheque") == "chèque"
    assert value_text("activity", "cantine", names) == "Cantine"
    assert value_text("activity", 2, names) == "Garderie"
    assert value_text("school", 1, names) == "École Jules-Ferry"
    assert value_text("school", 9, names) == "école n° 9"
    assert value_text("fields", ["first_name", "birth_date"]) == "prénom, date de naissance"
    assert value_text("phone_mobile", {"before": "", "after": "06 12"}) == "(vide) → 06 12"
    assert value_text("capacities", {"1": 20, "2": 0}, names) == (
        "École Jules-Ferry : 20 places, école n° 2 : sans limite"
    )
    assert value_text("allocations", [{"invoice_id": 7, "amount_cents": 1000}]) == (
        "facture n° 7 : 10,00\u00a0€"
    )
    assert value_text("lignes", [1, 2, 3]) == "3 lignes"
    assert day_text(dt.date(2027, 1, 1)) == "1er janvier 2027"


def test_details_read_as_sentences():
    lines = detail_lines(
        {
            "changes": {
                "phone_mobile": {"before": "06 11 22 33 44", "after": "07 11 22 33 44"},
                "is_payer": {"before": False, "after": True},
            },
            "montant_cents": 2500,
            "a_partir_du": "2027-01-01",
        }
    )
    assert lines == [
        "téléphone portable : 06 11 22 33 44 → 07 11 22 33 44",
        "paie les factures : non → oui",
        "montant : 25,00\u00a0€",
        "à partir du : 1er janvier 2027",
    ]
    for line in lines:
        assert "{" not in line and "_cents" not in line


def test_targets_name_what_they_point_at():
    names = Names(children={12: "Léa Martin"}, activities={4: "Garderie du soir"})
    assert target_text({"action": "booking_book", "target": "child:12"}, names) == "Léa Martin"
    assert target_text({"action": "health_notes_read", "target": "enfant 12"}, names) == (
        "Léa Martin"
    )
    assert target_text({"action": "attendance_mark", "target": "activity:4"}, names) == (
        "Garderie du soir"
    )
    assert target_text({"action": "paiement_guichet", "target": "Payment:5"}) == "paiement n° 5"
    assert (
        target_text(
            {"action": "avoir_emis", "target": "Invoice:9", "details": {"avoir": "AV-2026-000001"}}
        )
        == "avoir AV-2026-000001"
    )
    assert target_text({"action": "reset_link_sent", "target": "demande 3"}) == "demande 3"
    at = dt.datetime(2026, 12, 1, 15, 40, tzinfo=dt.UTC)
    grouped = {
        "action": "family_record_viewed",
        "target": "2026-12-01",
        "n": 3,
        "first_at": at - dt.timedelta(hours=6),
        "at": at,
    }
    assert target_text(grouped) == "3 consultations, de 10:40 à 16:40"
    assert target_text({**grouped, "n": 1}) == ""
    assert target_text({**grouped, "first_at": at}) == "3 consultations, à 16:40"


def test_a_creation_lists_the_fields_entered():
    assert detail_lines({"fields": ["first_name"]}, action="child_created") == [
        "champs renseignés : prénom"
    ]
    assert detail_lines({"fields": ["first_name"]}, action="child_updated") == [
        "champs modifiés : prénom"
    ]


def test_render_fills_label_object_and_lines():
    [row] = render(
        [{"action": "tarif_cree", "target": "Activity:4", "details": {"prix_cents": 210}}],
        Names(activities={4: "Cantine"}),
    )
    assert row["label"] == "Création d’un tarif" and row["object"] == "Cantine"
    assert row["lines"] == ["prix d’un jour : 2,10\u00a0€"]
