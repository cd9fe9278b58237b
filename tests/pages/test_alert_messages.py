"""The Alerts page's delivery log (AppTest on a seeded shop, SQLite file and PostgreSQL): what
cockpit.notify sent, to which channel, and a red box for messages it gave up on."""
import time

from sqlalchemy import insert, select, update

from cockpit import alerts, notify
from cockpit.config import load_settings
from cockpit.db.engine import get_engine
from cockpit.db.schema import Alert, AlertRule, User
from cockpit.jobs import refresh
from cockpit.metrics.read import metric_values
from tests.pages.test_pages import TZ, app_for, seeded_url  # noqa: F401  (seeded_url is the module's shop)
from tests.support.signin import ensure_users
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


def test_an_alert_reads_in_the_language_of_the_session_that_shows_it(seeded_url, monkeypatch):
    engine = get_engine(seeded_url)
    with engine.begin() as conn:  # a rule the shop breaches as long as it has visitors
        assert alerts.save_rule(conn, alerts.Rule(name="Shop has visitors", metric="uv", entity_kind="shop",
                                                  window_minutes=60, direction="above", warn=1.0, critical=None,
                                                  recovery=0.5)) == []
    now = time.time()
    report = refresh(load_settings({"COCKPIT_DB_URL": seeded_url, "COCKPIT_SOURCES": "simulator"}), now_ts=now)
    assert report.status == "ok"
    opened = [t for t in report.transitions if t.kind == "open" and t.message.startswith("Visitors for the shop")]
    assert len(opened) == 1 and opened[0].level == "warn"
    with engine.connect() as conn:  # the visitors of the hour the rule read, as the metrics layer counts them
        as_of = min(int(now) // 60 - 1, report.data_minute)
        visitors = float(metric_values(conn, "uv", "shop", 60, as_of, TZ)["value"].iloc[0])
    shown = f"{visitors:,.0f}" if visitors >= 100 else f"{visitors:.3g}"
    english = f"Visitors for the shop is {shown}, above the warning threshold 1"
    chinese = f"访客数（全店）为 {shown}，高于警告阈值 1"
    assert opened[0].message == english

    ensure_users(engine, mei="operator")
    with engine.begin() as conn:
        conn.execute(update(User).where(User.username == "mei").values(language="zh-CN"))
    for page in ("pages/05_alerts.py", "pages/01_overview.py"):
        zh = app_for(seeded_url, monkeypatch, page, user="mei", role="operator")
        texts = [m.value for m in zh.markdown] + [w.value for w in zh.warning]
        assert any(chinese in text for text in texts), (page, texts)
        assert not any(english in text for text in texts), page
        en = app_for(seeded_url, monkeypatch, page)
        assert any(english in text for text in [m.value for m in en.markdown] + [w.value for w in en.warning]), page
