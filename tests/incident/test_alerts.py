"""Alerts in, with real Alertmanager (v4) and Grafana payloads as those tools send them."""

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from app.alerting.models import Alert
from app.alerting.rules import SEVERITY_WORDS, AlertIn, group_key, severity_from_labels
from app.incident.models import Incident
from app.incident.rules import Severity
from tests.factories import bearer, make_token, make_user

PAYLOADS = Path(__file__).parent / "payloads"


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


async def alert_headers(session, scopes="alerts:write"):
    return bearer(await make_token(session, await make_user(session, "triager"), scopes=scopes)) | {
        "Content-Type": "application/json"
    }


async def send(client, headers, path, name):
    res = await client.post(f"/api/v1/integrations/{path}", headers=headers, content=payload(name))
    assert res.status_code == 200, res.text
    return res.json()


async def incidents(session):
    stmt = select(Incident).order_by(Incident.id).execution_options(populate_existing=True)
    return list((await session.exec(stmt)).all())


async def test_alertmanager_firing_then_resolved_is_one_incident_with_resolution_recorded(
    client, session
):
    h = await alert_headers(session)
    first = await send(client, h, "alertmanager", "alertmanager_firing.json")
    assert first == {
        "received": 2,
        "new": 2,
        "duplicates": 0,
        "resolved": 0,
        "incidents": [first["incidents"][0]],
    }
    repeat = await send(
        client, h, "alertmanager", "alertmanager_firing.json"
    )  # repeat_interval re-send
    assert repeat["new"] == 0 and repeat["duplicates"] == 2
    partly = await send(client, h, "alertmanager", "alertmanager_partly_resolved.json")
    assert partly["resolved"] == 1 and partly["duplicates"] == 1
    done = await send(client, h, "alertmanager", "alertmanager_resolved.json")
    assert done["resolved"] == 1 and done["duplicates"] == 1

    (incident,) = await incidents(session)
    assert incident.source == "alert" and incident.severity == "sev1"  # severity=critical
    assert incident.title == "JupyterHubDown: JupyterHub is down"
    assert incident.status == "investigating"  # auto-resolve is off by default
    assert incident.acknowledged_at is None  # nobody has acknowledged: escalation's job
    alerts = (await session.exec(select(Alert).order_by(Alert.id))).all()
    assert [(a.fingerprint, a.status, a.received) for a in alerts] == [
        ("3f1c0b1a7e2d9c44", "resolved", 4),
        ("9a8e21d04c6b7f13", "resolved", 4),
    ]
    assert alerts[0].resolved_at.isoformat() == "2026-11-23T09:21:31.126000+00:00"
    assert (
        alerts[0].starts_at.isoformat() == "2026-11-23T08:58:31.126000+00:00"
        and alerts[0].ends_at is not None
    )
    assert {a.incident_id for a in alerts} == {incident.id}

    events = (
        await client.get(
            f"/api/v1/incidents/{incident.id}/events", headers=h | await reader(session)
        )
    ).json()
    kinds = [e["kind"] for e in events]
    assert (
        kinds.count("incident.alert_received") == 2 and kinds.count("incident.alert_resolved") == 2
    )
    assert kinds[0] == "incident.declared"


async def reader(session):
    return bearer(await make_token(session, await make_user(session, "viewer")))


async def test_auto_resolve_when_every_alert_has_resolved(client, session, monkeypatch):
    monkeypatch.setenv("FIRSTLINE_ALERT_AUTO_RESOLVE", "true")
    h = await alert_headers(session)
    await send(client, h, "alertmanager", "alertmanager_firing.json")
    await send(client, h, "alertmanager", "alertmanager_partly_resolved.json")
    assert (await incidents(session))[0].status == "investigating"  # one alert still firing
    await send(client, h, "alertmanager", "alertmanager_resolved.json")
    (incident,) = await incidents(session)
    await session.refresh(incident)
    assert incident.status == "resolved" and incident.resolved_at is not None


async def test_grafana_firing_then_resolved(client, session):
    h = await alert_headers(session)
    first = await send(client, h, "grafana", "grafana_firing.json")
    again = await send(client, h, "grafana", "grafana_firing.json")
    done = await send(client, h, "grafana", "grafana_resolved.json")
    assert (first["new"], again["duplicates"], done["resolved"]) == (1, 1, 1)
    (incident,) = await incidents(session)
    assert (
        incident.severity == "sev3" and "Storage almost full" in incident.title
    )  # severity=warning
    (alert,) = (await session.exec(select(Alert))).all()
    assert (
        alert.status == "resolved" and alert.resolved_at.isoformat() == "2026-11-23T08:40:10+00:00"
    )
    assert alert.labels["grafana_folder"] == "Bio Lab"


async def test_alerts_join_the_open_incident_of_their_group_and_a_refire_after_resolution_opens_a_new_one(
    client, session
):
    h = await alert_headers(session)
    gen = {
        "alerts": [
            {
                "fingerprint": "a1",
                "name": "DiskFull",
                "group_key": "nfs",
                "labels": {"severity": "warning"},
            },
            {
                "fingerprint": "a2",
                "name": "DiskSlow",
                "group_key": "nfs",
                "labels": {"severity": "page"},
            },
        ]
    }
    res = await client.post("/api/v1/alerts", headers=h, json=gen)
    assert res.status_code == 200 and res.json()["new"] == 2 and len(res.json()["incidents"]) == 1
    (incident,) = await incidents(session)
    assert incident.severity == "sev1"  # the worse alert raised it
    # The responder resolves it; the same alert firing again is a new incident, not a zombie.
    user = await make_user(session, "agent")
    await client.patch(
        f"/api/v1/incidents/{incident.id}",
        headers=bearer(await make_token(session, user)),
        json={"status": "resolved"},
    )
    await client.post(
        "/api/v1/alerts",
        headers=h,
        json={
            "alerts": [
                {"fingerprint": "a1", "name": "DiskFull", "group_key": "nfs", "status": "resolved"}
            ]
        },
    )
    res = await client.post(
        "/api/v1/alerts",
        headers=h,
        json={"alerts": [{"fingerprint": "a1", "name": "DiskFull", "group_key": "nfs"}]},
    )
    assert res.json()["new"] == 1
    assert [i.status for i in await incidents(session)] == ["resolved", "investigating"]


async def test_configured_labels_group_across_senders(client, session, monkeypatch):
    monkeypatch.setenv("FIRSTLINE_ALERT_GROUP_LABELS", "team")
    h = await alert_headers(session)
    await send(client, h, "grafana", "grafana_firing.json")
    res = await client.post(
        "/api/v1/alerts",
        headers=h,
        json={
            "alerts": [{"fingerprint": "x", "name": "Backup failed", "labels": {"team": "infra"}}]
        },
    )
    assert res.json()["new"] == 1
    assert len(await incidents(session)) == 1


async def test_auth_and_bad_payloads_are_refused_and_write_nothing(client, session, monkeypatch):
    body = payload("alertmanager_firing.json")
    assert (await client.post("/api/v1/integrations/alertmanager", content=body)).status_code == 401
    no_scope = await alert_headers(session, scopes="tickets:read")
    assert (
        await client.post("/api/v1/integrations/alertmanager", headers=no_scope, content=body)
    ).status_code == 403
    h = await alert_headers(session)
    res = await client.post("/api/v1/integrations/alertmanager", headers=h, content=b"{not json")
    assert res.status_code == 422 and res.json()["code"] == "bad_json"
    res = await client.post(
        "/api/v1/integrations/grafana",
        headers=h,
        content=json.dumps({"alerts": [{"status": "exploded"}]}),
    )
    assert (
        res.status_code == 422
        and res.json()["code"] == "bad_alert_payload"
        and "alerts.0.status" in res.json()["detail"]
    )
    res = await client.post(
        "/api/v1/integrations/alertmanager",
        headers=h | {"Content-Type": "text/plain"},
        content=body,
    )
    assert res.status_code == 415
    assert (await client.post("/api/v1/alerts", headers=h, json={"alerts": []})).status_code == 422
    assert await incidents(session) == [] and (await session.exec(select(Alert))).all() == []

    # The shared token monitoring tools can be given instead of a person's API token.
    monkeypatch.setenv("FIRSTLINE_ALERT_TOKEN", "s3cret-alert-token")
    from app.incident.config import get_incident_settings

    get_incident_settings.cache_clear()
    shared = {"Authorization": "Bearer s3cret-alert-token", "Content-Type": "application/json"}
    assert (
        await client.post("/api/v1/integrations/alertmanager", headers=shared, content=body)
    ).status_code == 200
    wrong = {"Authorization": "Bearer nope", "Content-Type": "application/json"}
    assert (
        await client.post("/api/v1/integrations/alertmanager", headers=wrong, content=body)
    ).status_code == 401


@given(
    st.sampled_from([w for words in SEVERITY_WORDS.values() for w in words]),
    st.sampled_from(["severity", "priority", "level"]),
    st.sampled_from(["", " ", "  "]),
)
def test_severity_words_map_whatever_the_label_and_case(word, label, pad):
    expected = next(s for s, words in SEVERITY_WORDS.items() if word in words)
    assert severity_from_labels({label: pad + word.upper() + pad}) == expected


@given(st.dictionaries(st.text(max_size=10), st.text(max_size=10)))
def test_unknown_severities_default_to_sev3_and_group_keys_fit_the_column(labels):
    words = {w for ws in SEVERITY_WORDS.values() for w in ws}
    if not any(
        str(labels.get(k, "")).strip().lower() in words for k in ("severity", "priority", "level")
    ):
        assert severity_from_labels(labels) == Severity.sev3
    a = AlertIn(
        fingerprint="f",
        status="firing",
        name="n",
        summary="",
        labels=labels,
        annotations={},
        starts_at=None,
        ends_at=None,
        generator_url=None,
        sender_group_key="g" * 500,
    )
    assert len(group_key(a, source="alertmanager", group_labels=tuple(labels))) <= 255
    assert len(group_key(a, source="alertmanager", group_labels=())) <= 255


async def test_concurrent_notifications_for_one_group_declare_one_incident(db, session):
    import asyncio

    from app.alerting.rules import AlertmanagerPayload, from_alertmanager
    from app.alerting.service import receive_alerts

    alerts = from_alertmanager(
        AlertmanagerPayload.model_validate_json(payload("alertmanager_firing.json"))
    )

    async def deliver(alert):
        async with db.session() as s:
            return await receive_alerts(s, "alertmanager", [alert], actor_id=None)

    results = await asyncio.gather(deliver(alerts[0]), deliver(alerts[1]))
    assert sum(r.new for r in results) == 2
    assert len(await incidents(session)) == 1
