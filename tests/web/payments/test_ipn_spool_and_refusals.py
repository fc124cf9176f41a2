"""The notification URL under abuse and outage: refused requests are counted compactly and
throttled (never a genuine one), and a signed notification is never lost while the database is
unavailable: it waits in the spool and the paybox_spool job records it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ecp import clock
from ecp.ops.cleanup import delete_expired
from ecp.ops.jobs import default_jobs
from ecp.payments import refusals, services
from ecp.payments.config import paybox_config
from ecp.payments.notifications import replay_spool
from ecp.payments.spool import Spool
from ecp.payments.tables import Payment, PaymentNotification, RefusedNotification
from tests.conftest import make_client
from tests.factories import make_staff
from tests.payments_factories import ipn_query
from tests.support import login_staff, soup
from tests.web.payments.helpers import (
    attempt_status,
    family_with_invoices,
    login_family,
    started_reference,
)

IPN = "/paiement/paybox/ipn"


async def prepared(client):
    _, invoices = await family_with_invoices(4250)
    await login_family(client)
    return await started_reference(client, invoices)


async def send(app, raw: bytes, ip: str = "198.51.100.7"):
    async with make_client(app, ip) as caller:
        return await caller.get(f"{IPN}?{raw.decode('ascii')}")


def spool_of(settings) -> Spool:
    return Spool(paybox_config(settings).spool_dir)


async def test_a_flood_is_one_counted_row_then_429_and_a_genuine_one_still_pays(client, app):
    reference = await prepared(client)
    forged = b"mt=4250&ref=" + reference.encode() + b"&err=00000&sign=AAAA"
    statuses = [(await send(app, forged)).status_code for _ in range(30)]
    assert statuses == [403] * refusals.PER_ADDRESS_PER_MINUTE + [429] * 10
    rows = await RefusedNotification.select()
    assert len(rows) == 1 and rows[0]["hits"] == refusals.PER_ADDRESS_PER_MINUTE
    assert rows[0]["source_ip"] == "198.51.100.7" and rows[0]["reason"] == "signature"
    assert len(rows[0]["sample"]) <= refusals.SAMPLE_CHARS
    assert await PaymentNotification.count() == 0
    # The same address, throttled for refusals, is still heard when it speaks for Paybox.
    genuine = await send(app, ipn_query(reference, 4250, trans="8801"))
    assert genuine.status_code == 200 and await Payment.count() == 1
    # Another address is not affected by the first one's flood.
    assert (await send(app, forged, ip="198.51.100.8")).status_code == 403


async def test_refused_requests_are_deleted_after_the_retention(client, app, settings):
    await send(app, b"mt=1&ref=x&err=00000")
    assert await RefusedNotification.count() == 1
    now = clock.now()
    await delete_expired(settings, now + dt.timedelta(days=refusals.REFUSED_RETENTION_DAYS - 1))
    assert await RefusedNotification.count() == 1
    await delete_expired(settings, now + dt.timedelta(days=refusals.REFUSED_RETENTION_DAYS + 1))
    assert await RefusedNotification.count() == 0


async def test_the_regisseur_reads_a_flood_as_one_line(client, other_client, app):
    for n in range(60):  # three addresses, all past their quota
        await send(app, b"mt=1&ref=x&err=00000&sign=AAAA", ip=f"198.51.100.{n % 3 + 1}")
    await send(app, b"x=1&mt=1&ref=x&err=00000&sign=AAAA", ip="198.51.100.9")
    await make_staff(username="regie", role="regisseur")
    await login_staff(client, "regie")
    page = soup((await client.get("/agents/paiements/rapprochement")).text)
    items = page.find("h2", string="Anomalies à vérifier").find_next("ul").find_all("li")
    assert len(items) == 1
    assert items[0].text.startswith("61 requêtes refusées à l’adresse de notification")
    assert "depuis 4 adresses" in items[0].text
    table = page.find("caption", string=lambda t: t and t.startswith("Requêtes refusées"))
    rows = table.find_parent("table").select("tbody tr")
    assert len(rows) == 4
    reasons = {r.select("td")[2].text for r in rows}
    assert reasons == {
        "sans signature Paybox valide",
        "mise en forme qui n’est pas celle d’une notification Paybox",
    }


def database_away(monkeypatch):
    async def refused(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(services, "_settle", refused)


async def test_a_notification_during_an_outage_waits_in_the_spool_then_pays(
    client, app, settings, monkeypatch
):
    reference = await prepared(client)
    database_away(monkeypatch)
    response = await send(app, ipn_query(reference, 4250, trans="7301"))
    # Paybox does not retry: it is told OK only because the notification is safe on disk.
    assert response.status_code == 200 and response.text == "OK"
    spool = spool_of(settings)
    assert len(spool.pending()) == 1 and await Payment.count() == 0

    # Still away: the job leaves it where it is.
    assert await replay_spool(paybox_config(settings)) == 0
    assert len(spool.pending()) == 1

    monkeypatch.undo()
    job = next(j for j in default_jobs(settings) if j.name == "paybox_spool")
    assert await job.func(settings, clock.now()) == 1
    assert spool.pending() == [] and await Payment.count() == 1
    assert await attempt_status(reference) == "payee"
    payment = await Payment.select().first()
    assert payment["provider_transaction"] == "7301"
    # A second pass has nothing left to do.
    assert await job.func(settings, clock.now()) == 0


async def test_a_file_left_by_a_crash_after_recording_pays_once(client, app, settings):
    reference = await prepared(client)
    raw = ipn_query(reference, 4250, trans="7302")
    assert (await send(app, raw)).status_code == 200
    assert spool_of(settings).pending() == []  # recorded, so removed
    # As if the process had died between the commit and the removal of the file.
    spool_of(settings).put(
        method="GET", raw_query=raw, raw_body=b"", source_ip="198.51.100.7", received_at=clock.now()
    )
    assert await replay_spool(paybox_config(settings)) == 1
    assert await Payment.count() == 1
    outcomes = [
        r["outcome"]
        for r in await PaymentNotification.select(PaymentNotification.outcome).order_by(
            PaymentNotification.id
        )
    ]
    assert outcomes == ["payee", "doublon"] and spool_of(settings).pending() == []


async def test_a_tampered_spool_file_is_set_aside_not_recorded(client, app, settings):
    reference = await prepared(client)
    raw = ipn_query(reference, 4250, trans="7303").replace(b"mt=4250", b"mt=9999")
    spool = spool_of(settings)
    spool.put(method="GET", raw_query=raw, raw_body=b"", source_ip="x", received_at=clock.now())
    assert await replay_spool(paybox_config(settings)) == 0
    assert await Payment.count() == 0 and spool.pending() == [] and len(spool.failed()) == 1


async def test_nowhere_to_keep_it_answers_503_so_paybox_warns(
    client, app, settings, monkeypatch, tmp_path
):
    reference = await prepared(client)

    def disk_full(self, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Spool, "put", disk_full)
    database_away(monkeypatch)
    response = await send(app, ipn_query(reference, 4250, trans="7304"))
    assert response.status_code == 503 and response.headers["retry-after"] == "60"


async def test_a_bug_while_recording_keeps_the_notification_aside(
    client, app, settings, monkeypatch
):
    reference = await prepared(client)

    async def bug(*args, **kwargs):
        raise ValueError("a bug, not an outage")

    monkeypatch.setattr(services, "_settle", bug)
    response = await send(app, ipn_query(reference, 4250, trans="7305"))
    assert response.status_code == 500
    spool = spool_of(settings)
    assert spool.pending() == [] and len(spool.failed()) == 1
    note = await PaymentNotification.select().first()
    assert note["outcome"] == "exception"


@pytest.mark.postgres_only
async def test_a_real_outage_loses_no_notification(client, app, settings):
    from tests.web.ops.test_database_outage import Outage

    reference = await prepared(client)
    outage = Outage()
    await outage.open()
    try:
        await outage.refuse()
        response = await send(app, ipn_query(reference, 4250, trans="7306"))
        assert response.status_code == 200
        assert len(spool_of(settings).pending()) == 1
    finally:
        await outage.close()
    assert await replay_spool(paybox_config(settings)) == 1
    assert await Payment.count() == 1 and spool_of(settings).pending() == []


def test_spool_files_are_private_and_complete(tmp_path):
    spool = Spool(tmp_path / "s")
    moment = clock.now()
    path = spool.put(
        method="POST",
        raw_query=b"",
        raw_body=b"mt=1&sign=x",
        source_ip="1.2.3.4",
        received_at=moment,
    )
    assert oct(Path(path).stat().st_mode & 0o777) == "0o600"
    item = spool.load(path)
    assert (item.method, item.raw_body, item.source_ip, item.received_at) == (
        "POST",
        b"mt=1&sign=x",
        "1.2.3.4",
        moment,
    )
    assert list((tmp_path / "s").glob("*.tmp")) == []
