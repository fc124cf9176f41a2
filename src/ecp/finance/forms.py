"""The finance side's forms: the accountant's codes (each with its meaning in French, shown on
the settings page), an activity's own codes, the PES export's choice, a bordereau's cancellation."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ecp import clock
from ecp.finance.queries import SCOPES
from ecp.invoices.queries import month_choices
from ecp.web.forms import Choice, Form, Id, Integer, Invalid, Text


class Code(Text):
    """A code as the accountant writes it: spaces dropped, letters in capitals, then checked
    against `pattern` (the message says what is expected)."""

    def __init__(self, label: str, pattern: str, **options: Any) -> None:
        super().__init__(label, **options)
        self.pattern = re.compile(pattern)

    def read(self, data: dict[str, Any]) -> Any:
        return re.sub(r"\s", "", super().read(data)).upper()

    def parse(self, value: str) -> str | None:
        return value if self.pattern.fullmatch(value) else None


def _two_digits(label: str, meaning: str) -> Code:
    return Code(
        label,
        r"[0-9]{2}",
        max_length=4,
        required=f"Indiquez {meaning} (deux chiffres).",
        invalid=f"{label[0].upper()}{label[1:]} s’écrit en deux chiffres, par exemple 01.",
    )


# What each code means, in French, for the settings page (the accountant gives the values).
MEANINGS = {
    "poste_comptable": "Le code du poste comptable du Trésor public qui tient les comptes de la "
    "commune (7 caractères, sur les courriers du comptable).",
    "siret": "Le numéro SIRET de la commune, celui qui émet les titres (14 chiffres).",
    "code_collectivite": "Le code de la collectivité dans Hélios (3 caractères), donné par le "
    "comptable.",
    "code_budget": "Le code du budget sur lequel les recettes sont prises (budget principal ou "
    "annexe), donné par le comptable.",
    "libelle_emetteur": "Le nom sous lequel la commune émet les fichiers (par exemple « MAIRIE "
    "DE VILLEBELLE »).",
    "type_bordereau": "Le type de bordereau attendu par le comptable (06 pour les ordres de "
    "recette multi-créanciers, le plus souvent).",
    "type_piece": "Le type de pièce de chaque facture (15 pour un titre ORMC, le plus souvent).",
    "nature_piece": "La nature de la pièce d’une facture (01\u00a0: fonctionnement, le plus souvent).",
    "nature_piece_reduction": "La nature de la pièce d’un avoir, qui réduit une facture "
    "(06\u00a0: annulation-réduction, le plus souvent).",
    "edition_asap": "Le choix d’édition de l’avis des sommes à payer (ASAP), tel que le "
    "comptable le donne\u00a0: il dit si le Trésor imprime et envoie l’avis, ou si la facture de la "
    "commune en tient lieu. Laissez vide si le comptable ne demande rien.",
    "produit_defaut": "Le code produit local (jusqu’à 4 caractères) des activités qui n’ont pas "
    "de code propre ci-dessous.",
    "nature_defaut": "Le compte de recette (nature budgétaire, par exemple 7067 ou 70632) des "
    "activités qui n’ont pas de nature propre ci-dessous.",
    "exercice": "L’exercice budgétaire des bordereaux. Laissez vide\u00a0: l’année d’émission, "
    "le cas ordinaire.",
}


class FinanceSettingsForm(Form):
    poste_comptable = Code(
        "Poste comptable",
        r"[0-9A-Z]{7}",
        max_length=12,
        required="Indiquez le poste comptable donné par le comptable (7 caractères).",
        invalid="Le poste comptable s’écrit en 7 chiffres ou lettres, par exemple 0780100.",
    )
    siret = Code(
        "SIRET de la commune",
        r"[0-9]{14}",
        max_length=20,
        required="Indiquez le SIRET de la commune (14 chiffres).",
        invalid="Le SIRET s’écrit en 14 chiffres, par exemple 21780999900017.",
    )
    code_collectivite = Code(
        "Code collectivité",
        r"[0-9A-Z]{3}",
        max_length=6,
        required="Indiquez le code collectivité (3 caractères).",
        invalid="Le code collectivité s’écrit en 3 chiffres ou lettres, par exemple 099.",
    )
    code_budget = Code(
        "Code budget",
        r"[0-9A-Z]{1,10}",
        max_length=12,
        required="Indiquez le code budget donné par le comptable.",
        invalid="Le code budget s’écrit en chiffres ou lettres (10 au plus), par exemple 00.",
    )
    libelle_emetteur = Text(
        "Nom de l’émetteur",
        max_length=38,
        required="Indiquez le nom sous lequel la commune émet les fichiers.",
    )
    type_bordereau = _two_digits("Type de bordereau", "le type de bordereau")
    type_piece = _two_digits("Type de pièce", "le type de pièce")
    nature_piece = _two_digits("Nature de pièce d’une facture", "la nature de pièce")
    nature_piece_reduction = _two_digits(
        "Nature de pièce d’un avoir", "la nature de pièce des avoirs"
    )
    edition_asap = Code(
        "Édition de l’ASAP",
        r"[0-9]{2}",
        max_length=4,
        invalid="Le code d’édition de l’ASAP s’écrit en deux chiffres, ou reste vide.",
    )
    produit_defaut = Code(
        "Code produit par défaut",
        r"[0-9A-Z]{1,4}",
        max_length=6,
        required="Indiquez le code produit par défaut.",
        invalid="Le code produit s’écrit en 4 chiffres ou lettres au plus, par exemple 20.",
    )
    nature_defaut = Code(
        "Nature comptable par défaut",
        r"[0-9]{1,10}",
        max_length=12,
        required="Indiquez la nature comptable par défaut, par exemple 7067.",
        invalid="La nature comptable s’écrit en chiffres, par exemple 7067.",
    )
    exercice = Integer(
        "Exercice",
        low=2000,
        high=2100,
        invalid="Indiquez l’exercice en quatre chiffres, par exemple 2026, ou laissez vide.",
    )


class ActivityCodesForm(Form):
    activite = Id("Activité", required="Choisissez une activité de la liste.")
    produit = Code(
        "Code produit",
        r"[0-9A-Z]{1,4}",
        max_length=6,
        invalid="Le code produit s’écrit en 4 chiffres ou lettres au plus, ou reste vide.",
    )
    nature = Code(
        "Nature comptable",
        r"[0-9]{1,10}",
        max_length=12,
        invalid="La nature comptable s’écrit en chiffres, ou reste vide.",
    )


def month_options() -> list[tuple[str, str]]:
    """This month and the twelve before it (the months a bordereau may take)."""
    return [(m["value"], m["label"]) for m in month_choices(clock.today())]


class ExportForm(Form):
    """The month is needed for the « mois » scope only."""

    perimetre = Choice(
        "Factures à exporter",
        list(SCOPES.items()),
        required="Choisissez ce qu’il faut exporter.",
        invalid="Choisissez ce qu’il faut exporter.",
    )
    mois = Choice("Mois facturé", month_options, invalid="Choisissez un mois dans la liste.")

    def clean_mois(self, value: str) -> dt.date:
        return dt.date.fromisoformat(value + "-01")

    def clean(self) -> None:
        if self.cleaned["perimetre"] != "mois":
            self.cleaned["mois"] = None
        elif not self.cleaned.get("mois"):
            raise Invalid("Choisissez le mois à exporter.", field="mois")


class CancelForm(Form):
    motif = Text(
        "Motif de l’annulation",
        max_length=300,
        required="Indiquez pourquoi le bordereau est annulé (par exemple, rejeté par le Trésor).",
    )


def report_periods() -> list[tuple[str, str]]:
    """The CAF report's periods: this year and the last one, then the last thirteen months."""
    year = clock.today().year
    return [
        (str(year), f"Année {year}"),
        (str(year - 1), f"Année {year - 1}"),
        *month_options(),
    ]


def meal_years() -> list[tuple[str, str]]:
    year = clock.today().year
    return [(str(y), str(y)) for y in range(year, year - 4, -1)]


class CafForm(Form):
    periode = Choice(
        "Période",
        report_periods,
        required="Choisissez une période dans la liste.",
        invalid="Choisissez une période dans la liste.",
    )


class MealsForm(Form):
    annee = Choice(
        "Année civile",
        meal_years,
        required="Choisissez une année dans la liste.",
        invalid="Choisissez une année dans la liste.",
    )

    def clean_annee(self, value: str) -> int:
        return int(value)


def certificate_years() -> list[tuple[str, str]]:
    """The years a run may cover: the last four that are over."""
    year = clock.today().year
    return [(str(y), str(y)) for y in range(year - 1, year - 5, -1)]


class CertificateYearForm(Form):
    annee = Choice(
        "Année des paiements",
        certificate_years,
        required="Choisissez l’année dans la liste.",
        invalid="Choisissez l’année dans la liste.",
    )

    def clean_annee(self, value: str) -> int:
        return int(value)
