"""templates/macros/forms.html: every control's label, hint and error, linked for screen readers."""

from __future__ import annotations

from bs4 import BeautifulSoup

from ecp.web.forms import Form
from ecp.web.templating import environment


def render(source: str, **context) -> BeautifulSoup:
    template = environment().from_string('{% import "macros/forms.html" as f %}' + source)
    return BeautifulSoup(template.render(**context), "html.parser")


def test_a_field_in_error_is_described_by_its_hint_and_its_message():
    form = Form(values={"nom": "Du"}, errors={"nom": "Saisissez le nom complet."})
    page = render(
        '{{ f.field(form, "nom", "Nom", hint="Tel qu’à l’état civil.", required=True) }}', form=form
    )
    field = page.find("input", id="nom")
    assert field["aria-describedby"] == "nom-hint nom-error"
    assert field["aria-invalid"] == "true" and field["aria-required"] == "true"
    assert field["value"] == "Du"
    assert (
        page.find(id="nom-error").get_text(" ", strip=True) == "Erreur : Saisissez le nom complet."
    )
    assert page.find("label", attrs={"for": "nom"}).get_text(" ", strip=True) == "Nom (obligatoire)"


def test_radios_are_a_fieldset_whose_first_control_the_summary_reaches():
    form = Form(values={"mode": "courriel"}, errors={"mode": "Choisissez un mode."})
    page = render(
        '{{ f.error_summary(form) }}{{ f.radios(form, "mode", "Comment ?", '
        '[("papier", "Papier"), ("courriel", "Courriel", "Un lien par courriel")]) }}',
        form=form,
    )
    assert page.select_one(".error-summary a")["href"] == "#mode"
    fieldset = page.find("fieldset")
    assert fieldset["aria-describedby"] == "mode-error"
    assert fieldset.find("legend").get_text(strip=True) == "Comment ?"
    radios = fieldset.find_all("input", type="radio")
    assert [r["id"] for r in radios] == ["mode", "mode-courriel"]
    assert [r.has_attr("checked") for r in radios] == [False, True]
    assert radios[1]["aria-describedby"] == "mode-courriel-item-hint"
    assert {label["for"] for label in fieldset.find_all("label")} == {"mode", "mode-courriel"}


def test_checkboxes_keep_every_ticked_value():
    form = Form(values={"enfants": ["3", "5"]})
    page = render(
        '{{ f.checkboxes(form, "enfants", "Pour quels enfants ?", '
        '[(3, "Léa"), (4, "Hugo"), (5, "Zoé")], inline=True) }}',
        form=form,
    )
    boxes = page.find_all("input", type="checkbox")
    assert [b["value"] for b in boxes if b.has_attr("checked")] == ["3", "5"]
    assert page.find("ul")["class"] == ["checks"]
    assert page.find(class_="error-message") is None  # no error, no message


def test_select_textarea_and_date_share_the_wrapper():
    form = Form(
        values={"ecole": "2", "note": "Allergie", "jour": "07/12/2026"},
        errors={"jour": "Date invalide."},
    )
    page = render(
        '{{ f.select(form, "ecole", "École", [(1, "Jaurès"), (2, "Curie")]) }}'
        '{{ f.textarea(form, "note", "Note") }}{{ f.date(form, "jour", "Jour") }}',
        form=form,
    )
    assert page.find("option", selected=True).get_text() == "Curie"
    assert page.find("textarea").get_text() == "Allergie"
    day = page.find("input", id="jour")
    # A native date input: the day typed is given back in the ISO form the browser reads.
    assert day["type"] == "date" and day["value"] == "2026-12-07"
    assert "jour-error" in day["aria-describedby"]
    assert [d.label.get_text(strip=True) for d in page.select("div.field")] == [
        "École",
        "Note",
        "Jour",
    ]
