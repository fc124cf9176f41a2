"""/metrics (Prometheus text, allowed addresses only) and /healthz (database and job runner)."""

from __future__ import annotations

import datetime as dt

from ecp import clock
from ecp.booking.tables import Booking
from ecp.mail.outbox import queue_email
from ecp.ops.jobs import Job, JobRunner
from tests.factories import make_activity, make_child, make_family, make_school


async def _booking(state: str = "reservee") -> None:
    school = await make_school()
    activity = await make_activity(school=school)
    family = await make_family()
    child = await make_child(family, school=school)
    now = clock.now()
    await Booking(
        child=child.id,
        activity=activity.id,
        school=school.id,
        day=dt.date(2026, 12, 7),
        state=state,
        created_at=now,
        updated_at=now,
    ).save()


async def test_metrics_in_prometheus_format_for_an_allowed_address(client):
    await _booking()
    await queue_email(to="a@example.org", subject="s", text="t", kind="test")
    await client.get("/")
    await client.get("/connexion")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    body = response.text
    assert "# TYPE ecp_http_requests_total counter" in body
    assert 'ecp_http_requests_total{method="GET",route="/connexion",status="200"}' in body
    assert 'ecp_http_request_duration_seconds_bucket{route="/connexion",le="+Inf"}' in body
    assert 'ecp_bookings{state="reservee"} 1' in body
    assert 'ecp_outbox_emails{state="en_attente"} 1' in body
    for line in body.splitlines():  # every sample line is "name{labels} number"
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            float(value)


async def test_metrics_are_a_404_for_other_addresses(other_client):
    response = await other_client.get("/metrics")
    assert response.status_code == 404
    assert "ecp_" not in response.text


async def test_metrics_allow_a_configured_network(settings):
    from ecp.app import create_app
    from tests.conftest import make_client

    app = create_app(settings.with_(metrics_allowed=("10.0.0.0/8",)))
    async with make_client(app, "10.1.2.3") as inside, make_client(app, "127.0.0.1") as local:
        assert (await inside.get("/metrics")).status_code == 200
        assert (await local.get("/metrics")).status_code == 404


async def test_job_metrics_count_runs_and_failures(client, settings):
    async def boom(_s, _n):
        raise ValueError("x")

    runner = JobRunner(settings, [Job("metrics-boom", 60, boom)], holder="A")
    await runner.run_pending()
    body = (await client.get("/metrics")).text
    assert 'ecp_job_runs_total{job="metrics-boom"}' in body
    assert 'ecp_job_failures_total{job="metrics-boom"}' in body
    assert 'ecp_job_last_run_failed{job="metrics-boom"} 1' in body


async def test_healthz_reports_database_and_job_runner(app, client, settings):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "redis": "desactive",
        "jobs": {"status": "desactive"},
    }

    runner = JobRunner(settings, [], holder="A", tick=0.05)
    app.state.job_runner = runner
    await runner.start()
    try:
        body = (await client.get("/healthz")).json()
        assert body["status"] == "ok" and body["jobs"]["status"] == "ok"
    finally:
        await runner.stop()
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["jobs"]["status"] == "arrete"


async def test_app_lifespan_starts_and_stops_the_runner(settings, monkeypatch):
    from contextlib import asynccontextmanager

    from ecp import db
    from ecp.app import create_app

    @asynccontextmanager
    async def keep_the_tests_pool(**_kwargs):
        yield

    monkeypatch.setattr(db, "pool", keep_the_tests_pool)

    app = create_app(settings.with_(jobs_enabled=True, job_tick_seconds=0.05))
    async with app.lifespan():
        runner = app.state.job_runner
        assert runner.running
        assert {j.name for j in runner.jobs} == {
            "mail",
            "reminders",
            "retention",
            "cleanup",
            "payment_expiry",
            "paybox_spool",
        }
    assert not runner.running
