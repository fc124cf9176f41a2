"""The settings' forms, bound to request bodies without HTTP: every error at once, in the page's
order, with the services' rules (ecp.backoffice.settings_services) among them."""

from __future__ import annotations

import datetime as dt

from ecp.backoffice.settings_forms import (
    ActivityForm,
    ClosureForm,
    NewActivityForm,
    NewStaffForm,
    RulesForm,
    SchoolForm,
    StaffForm,
    YearForm,
)


def test_rules_form_reads_hours_and_bounded_numbers():
    form = RulesForm.bind(
        {
            "delai_jours": "3",
            "delai_heure": "20:00",
            "maladie_heure": "08h30",
            "echeance_jours": "45",
            "conservation_ans": "5",
        }
    )
    assert form.valid and form.rules() == {
        "booking_deadline_working_days": 3,
        "booking_deadline_time": dt.time(20, 0),
        "illness_cutoff_time": dt.time(8, 30),
        "invoice_due_days": 45,
        "retention_years": 5,
    }
    bad = RulesForm.bind({"delai_jours": "31", "delai_heure": "25:00", "echeance_jours": "1"})
    assert list(bad.errors) == ["delai_jours", "conservation_ans", "delai_heure", "maladie_heure"]
    assert bad.errors["delai_jours"] == "Délai de réservation : un nombre entier entre 0 et 30."


def test_year_form_lists_the_label_and_the_bounds_together():
    form = YearForm.bind({"libelle": "2027", "debut": "2027-09-01", "fin": "01/08/2027"})
    assert form.errors == {
        "libelle": "Le libellé s’écrit comme 2026-2027.",
        "fin": "La fin de l’année doit suivre son début.",
    }
    ok = YearForm.bind(
        {"libelle": "2027-2028", "debut": "01/09/2027", "fin": "2028-07-04", "courante": "oui"}
    )
    assert ok.valid and ok.cleaned["courante"] is True
    assert ok.cleaned["fin"] == dt.date(2028, 7, 4)


def test_closure_form_one_day_when_the_last_is_left_empty():
    one = ClosureForm.bind({"fermeture_du": "24/12/2026", "fermeture_au": "", "motif": "Noël"})
    assert one.valid and one.cleaned["fermeture_au"] == dt.date(2026, 12, 24)
    assert one.cleaned["ecole"] is None and one.cleaned["activite"] is None
    assert one.values["fermeture_au"] == ""  # redisplayed as typed
    backwards = ClosureForm.bind(
        {"fermeture_du": "03/01/2027", "fermeture_au": "02/01/2027", "motif": "x", "ecole": "2"}
    )
    assert list(backwards.errors) == ["fermeture_au"] and backwards.cleaned["ecole"] == 2
    empty = ClosureForm.bind({"fermeture_du": "", "motif": "", "ecole": "abc"})
    assert list(empty.errors) == ["fermeture_du", "fermeture_au", "motif", "ecole"]


def test_school_form_names_taken_and_a_new_school_is_open():
    form = SchoolForm.bind({"nom": "École A", "type": "lycée"}, taken={"École A"})
    assert form.errors == {
        "nom": "Une autre école porte déjà ce nom.",
        "type": "Choisissez le type d’école.",
    }
    new = SchoolForm.bind({"nom": "École B", "type": "primaire"}, taken={"École A"})
    assert new.valid and new.cleaned["active"] is True
    closed = SchoolForm.bind({"nom": "École B", "type": "primaire"}, editing=True)
    assert closed.valid and closed.cleaned["active"] is False


OTHERS = [
    {"id": 1, "code": "restauration", "label": "Restauration scolaire", "short_label": "Cantine"}
]
GROUPS = [("", "aucun"), ("soir", "soir : Garderie du soir")]


def test_new_activity_form_errors_in_the_pages_order_and_its_code():
    schools = [{"id": 7, "name": "École A"}]
    context = {"others": OTHERS, "groups": GROUPS, "schools": schools}
    bad = NewActivityForm.bind(
        {
            "libelle": "",
            "libelle_court": "CANTINE",
            "code": "Pas bon !",
            "jours": ["9"],
            "debut": "10:00",
            "fin": "09:00",
            "niveaux": ["6e"],
            "delai": "demain",
            "groupe": "matin",
            "capacite": "x",
            "capacite-7": "-1",
        },
        **context,
    )
    assert list(bad.errors) == [
        "libelle",
        "libelle_court",
        "code",
        "jours-1",
        "fin",
        "niveaux-PS",
        "delai",
        "groupe",
        "capacite",
        "capacite-7",
    ]
    assert bad.values["code"] == "pas bon !" and bad.values["jours"] == []
    good = NewActivityForm.bind(
        {
            "libelle": "Stage multisports (été)",
            "libelle_court": "Multisports",
            "jours": ["1", "2"],
            "debut": "16h30",
            "fin": "18:00",
            "niveaux": ["CP"],
            "delai": "working_days",
            "groupe": "soir",
            "capacite": "12",
            "capacite-7": "8",
        },
        **context,
    )
    assert good.valid
    values = good.activity()
    assert values["code"] == "stage_multisports_ete" and values["capacities"] == {7: 8}
    assert values["billable"] is False and values["group_code"] == "soir"
    assert values["starts_at"] == dt.time(16, 30) and "active" not in values
    taken = NewActivityForm.bind({**good.values, "libelle": "Restauration"}, **context)
    assert list(taken.errors) == ["code"]


def test_an_activity_edit_carries_none_of_the_choices_fixed_at_creation():
    form = ActivityForm.bind(
        {
            "libelle": "Mercredi",
            "libelle_court": "Mercredi",
            "code": "pirate",
            "groupe": "soir",
            "jours": ["3"],
            "debut": "08:30",
            "fin": "17:30",
            "niveaux": ["CP"],
            "capacite": "10",
            "active": "oui",
        },
        others=OTHERS,
        groups=GROUPS,
        schools=[],
    )
    assert form.valid
    assert set(form.activity()) == {
        "label",
        "short_label",
        "weekdays",
        "starts_at",
        "ends_at",
        "levels",
        "default_capacity",
        "capacities",
        "active",
        "over_capacity_confirmed",
    }
    assert form.activity()["over_capacity_confirmed"] is False


def test_staff_forms_own_rights_passwords_and_usernames():
    mine = StaffForm.bind(
        {"nom_affiche": "Moi", "role": "administrateur", "mot_de_passe": "court"},
        actor_id=3,
        staff_id=3,
        username="admin",
    )
    # No « actif » box sent: deactivating oneself is refused like a demotion.
    assert list(mine.errors) == ["role", "mot_de_passe"]
    assert "propres droits" in mine.errors["role"]
    other = StaffForm.bind(
        {"nom_affiche": "M", "role": "agent", "actif": "oui"}, actor_id=3, staff_id=4, username="m"
    )
    assert other.valid and other.account()["password"] == ""
    new = NewStaffForm.bind(
        {"identifiant": "ADMIN", "nom_affiche": "", "role": "chef"}, taken={"admin"}
    )
    assert new.values["identifiant"] == "admin"
    assert new.errors == {
        "identifiant": "Cet identifiant est déjà pris.",
        "nom_affiche": "Saisissez le nom affiché.",
        "role": "Choisissez un rôle.",
        "mot_de_passe": "Le mot de passe doit contenir au moins 15 caractères.",
    }
    named = NewStaffForm.bind(
        {
            "identifiant": "m.dupont",
            "nom_affiche": "M. Dupont",
            "role": "agent",
            "mot_de_passe": "m.dupont-phrase-longue",
        }
    )
    assert list(named.errors) == ["mot_de_passe"]
    ok = NewStaffForm.bind({**named.values, "mot_de_passe": "  une phrase longue  "})
    assert ok.valid and ok.account()["active"] is True
    assert ok.account()["password"] == "  une phrase longue  "  # kept exactly as typed
