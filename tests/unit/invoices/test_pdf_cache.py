"""Invoice PDFs are kept under the hash of their markup: a repeated download costs no
rendering, any change to the invoice renders a new one, and the cache stays bounded."""

from __future__ import annotations

import pytest

from ecp.invoices import pdf


@pytest.fixture
def renders(monkeypatch):
    calls: list[str] = []

    async def fake_write(html: str) -> bytes:
        calls.append(html)
        return b"%PDF-" + html.encode()

    monkeypatch.setattr(pdf, "_write", fake_write)
    monkeypatch.setattr(pdf, "render_html", lambda context: context["html"])
    monkeypatch.setattr(pdf, "_cache", type(pdf._cache)())
    monkeypatch.setattr(pdf, "_cached_bytes", 0)
    return calls


async def test_the_same_invoice_is_rendered_once(renders):
    first = await pdf.invoice_pdf({"html": "facture 1, reste 12,00 €"})
    again = await pdf.invoice_pdf({"html": "facture 1, reste 12,00 €"})
    assert first == again == b"%PDF-facture 1, reste 12,00 \xe2\x82\xac"
    assert len(renders) == 1


async def test_a_changed_invoice_is_rendered_again(renders):
    await pdf.invoice_pdf({"html": "facture 1, reste 12,00 €"})
    paid = await pdf.invoice_pdf({"html": "facture 1, payée"})
    assert paid == b"%PDF-facture 1, pay\xc3\xa9e"
    assert len(renders) == 2


async def test_the_cache_drops_the_oldest_beyond_its_byte_budget(renders, monkeypatch):
    monkeypatch.setattr(pdf, "CACHE_BYTES", 30)
    for n in range(3):
        await pdf.invoice_pdf({"html": f"facture {n} ......"})  # 21 bytes each
    assert len(pdf._cache) == 1 and pdf._cached_bytes <= 30
    await pdf.invoice_pdf({"html": "facture 2 ......"})  # still there: no rendering
    assert len(renders) == 3
    await pdf.invoice_pdf({"html": "facture 0 ......"})  # dropped: rendered again
    assert len(renders) == 4
