"""The demo commune has its PES codes (seeded once), and a month of the demo exports as a
schema-valid file whose pieces and total are the month's invoices less its credit notes."""

from __future__ import annotations

from ecp import clock
from ecp.auth.principal import Principal
from ecp.demo import finance as demo_finance
from ecp.demo.invoices import demo_months
from ecp.demo.seed import seed_demo
from ecp.finance import pes, queries, services
from ecp.finance.tables import FinanceActivityCode, FinanceSettings, PesBordereau
from ecp.invoices.tables import Invoice
from tests.factories import make_staff


async def test_the_demo_has_pes_codes_and_a_month_exports_whole(settings):
    await seed_demo(settings, n_families=12)
    await demo_finance.seed({})
    assert await FinanceSettings.count() == 1
    assert await FinanceActivityCode.count() >= 1
    assert queries.missing_codes(await queries.finance_settings()) == []
    month = demo_months(clock.today())[-1]
    documents = await Invoice.select(Invoice.total_cents).where(
        (Invoice.month == month) & (Invoice.total_cents != 0)
    )
    staff = await make_staff(username="pes-test", role="regisseur")
    actor = Principal(kind="staff", session_id=0, name="R", staff_id=staff.id, role="regisseur")
    result = await services.issue_bordereau(actor, "mois", month)
    row = await PesBordereau.select(PesBordereau.xml).where(PesBordereau.id == result["id"]).first()
    content = row["xml"].encode()
    pes.validate(content)
    found = pes.summary(content)
    assert found["pieces"] == len(documents) == result["pieces"]
    assert found["total_cents"] == sum(d["total_cents"] for d in documents) == found["lines_cents"]
