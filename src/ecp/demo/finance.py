"""The demo commune's PES codes (made up, shaped like the real ones: a test file can be built
and checked, not sent), and a product code and budget nature for each activity: the garderies
and accueils under one nature, the restauration under another.

Idempotent: the settings row is written once; an activity's codes only when it has none."""

from __future__ import annotations

from ecp.commune.tables import Activity
from ecp.finance.tables import FinanceActivityCode, FinanceSettings

DEMO_CODES = dict(
    poste_comptable="0780100",
    siret="21780999900017",
    code_collectivite="099",
    code_budget="00",
    libelle_emetteur="MAIRIE DE VILLEBELLE-SUR-SEINE",
    type_bordereau="06",
    type_piece="15",
    nature_piece="01",
    nature_piece_reduction="06",
    edition_asap="",
    produit_defaut="20",
    nature_defaut="7066",
)
# Restauration scolaire under 7067 (redevances des services périscolaires et d'enseignement);
# the other activities take the defaults.
MEAL_CODES = ("20", "7067")


async def seed(context: dict) -> None:
    if not await FinanceSettings.exists():
        await FinanceSettings.insert(FinanceSettings(**DEMO_CODES))
    meals = await Activity.select(Activity.id).where(Activity.code.like("%restauration%"))
    for activity in meals:
        if not await FinanceActivityCode.exists().where(
            FinanceActivityCode.activity == activity["id"]
        ):
            await FinanceActivityCode.insert(
                FinanceActivityCode(
                    activity=activity["id"], produit=MEAL_CODES[0], nature=MEAL_CODES[1]
                )
            )
