"""The Alerts page's delivery log (AppTest on a seeded shop, SQLite file and PostgreSQL): what
cockpit.notify sent, to which channel, and a red box for messages it gave up on."""
import time

from sqlalchemy import insert, select

from cockpit import notify
from cockpit.db.engine import get_engine
from cockpit.db.schema import Alert, AlertRule
from tests.pages.test_pages import TZ, app_for, seeded_url  # noqa: F401  (seeded_url is the module's shop)
from tests.support.sinks import MailSink, WebhookSink


def test_the_alerts_page_lists_sent_messages_and_names_the_ones_that_failed(seeded_url, monkeypatch):
    engine = get_engine(seeded_url)
    now = time.time()
    with engine.begin() as conn:
        rule_id = conn.execute(select(AlertRule.rule_id).where(AlertRule.name == "Stock running out")).scalars().first()
        conn.execute(insert(Alert).values(rule_id=rule_id, entity_id="NOTIFY-1|WH-X", level="critical", status="open",
                                          opened_minute=int(now) // 60 - 3, value=0.1, threshold=0.25,
                                          message="Days of cover for SKU NOTIFY-1 is 0.1", open_key=f"{rule_id}:N1"))
    at = app_for(seeded_url, monkeypatch, "pages/05_alerts.py")
    assert not at.exception
    assert any("Set COCKPIT_NOTIFY_FILE" in caption.value for caption in at.caption)
    web, closed = WebhookSink(), MailSink()
    dead_port = closed.port
    closed.close()
    try:
        channels = [notify.Channel(name="ops-hook", kind="webhook", url=web.url + "/hook", metrics=("days_of_cover",)),
                    notify.Channel(name="dead-slack", kind="slack", url=f"http://127.0.0.1:{dead_port}/x",
                                   metrics=("days_of_cover",), repeat_minutes=7 * 1440)]
        moment = now
        for _ in range(notify.MAX_ATTEMPTS):  # the dead channel through all its tries
            notify.notify(engine, channels, TZ, "https://cockpit.example.com", moment)
            moment += notify.RETRY_MAX_S
    finally:
        web.close()
    sent = [r.body for r in web.at("/hook") if "NOTIFY-1" in r.body["text"]]
    assert sent and sent[0]["link"] == "https://cockpit.example.com/stock-levels?sku=NOTIFY-1&wh=WH-X"
    at = app_for(seeded_url, monkeypatch, "pages/05_alerts.py")
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("message(s) could not be delivered, the last to dead-slack: ` cannot reach the slack webhook" in e
               for e in errors), errors
    table = next(df.value for df in at.dataframe if "outcome" in df.value.columns)
    dead = table[table["channel"] == "dead-slack"]
    assert dead["status"].tolist() == ["failed"] and dead["attempts"].tolist() == [notify.MAX_ATTEMPTS]
    assert dead["outcome"].iloc[0].startswith("gave up: cannot reach the slack webhook")
    assert (table.loc[table["channel"] == "ops-hook", "status"] == "sent").all()
    assert table.loc[table["channel"] == "ops-hook", "outcome"].str.startswith("delivered ").all()
