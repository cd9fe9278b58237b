"""Alert notifications (cockpit.notify) delivered to local webhook and SMTP servers started by
the tests, on SQLite and PostgreSQL: one grouped message per rule and channel in each
service's format with a link back, repeat intervals, quiet hours, acknowledged and snoozed
alerts left alone, failures retried with growing pauses and kept, bad channel files refused
with a clear message, and messages written in COCKPIT_LANG."""
import base64
import hashlib
import hmac
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update

from cockpit import alerts, notify
from cockpit.config import ConfigError, load_settings
from cockpit.db.schema import Alert, AlertRule, Notification
from cockpit.jobs import notify_job
from cockpit.timebuckets import datetime_of_minute
from tests.cockpit.test_alert_language import T0, cover, open_stock_alerts
from tests.support.sinks import MailSink, WebhookSink

TZ = ZoneInfo("Asia/Shanghai")
PUBLIC = "https://cockpit.example.com"
# 2026-11-11 14:00 in Shanghai: outside any quiet hours below.
NOW = int(datetime(2026, 11, 11, 14, 0, tzinfo=TZ).timestamp())
SKUS = [f"APP-{100 + i}|WH-EAST" for i in range(18)]


@pytest.fixture
def sinks():
    web, mail = WebhookSink(), MailSink()
    yield web, mail
    web.close()
    mail.close()


def rule_id(conn, name: str) -> int:
    return conn.execute(select(AlertRule.rule_id).where(AlertRule.profile == "default",
                                                        AlertRule.name == name)).scalar_one()


@pytest.fixture
def shop(engine):
    """Default rules and open alerts: 18 SKUs running out (critical), one campaign under its
    ROI floor (warn). Returns {name: [alert ids]}."""
    with engine.begin() as conn:
        alerts.seed_default_rules(conn, NOW // 60)
        stock, roi = rule_id(conn, "Stock running out"), rule_id(conn, "Campaign under ROI floor")
        rows = [dict(rule_id=stock, entity_id=entity, level="critical", status="open", opened_minute=NOW // 60 - 5 - i,
                     value=0.1, threshold=0.25, open_key=f"{stock}:{entity}",
                     message=f"Days of cover for SKU {entity.split('|')[0]} in warehouse WH-EAST is 0.1, below 0.25")
                for i, entity in enumerate(SKUS)]
        rows.append(dict(rule_id=roi, entity_id="CMP-7", level="warn", status="open", opened_minute=NOW // 60 - 30,
                         value=-1.1, threshold=-1.0, open_key=f"{roi}:CMP-7",
                         message="ROI vs floor for campaign CMP-7 is -1.1, below -1"))
        conn.execute(insert(Alert), rows)
        ids = conn.execute(select(Alert.alert_id, Alert.rule_id).order_by(Alert.alert_id)).all()
    return {"stock": [a for a, r in ids if r == stock], "roi": [a for a, r in ids if r == roi]}


def channels(web: WebhookSink, mail: MailSink, **overrides) -> list[notify.Channel]:
    common = dict(repeat_minutes=60, **overrides)
    return [
        notify.Channel(name="hook", kind="webhook", url=web.url + "/hook", **common),
        notify.Channel(name="wecom", kind="wecom", url=web.url + "/wecom?key=abc", **common),
        notify.Channel(name="dingtalk", kind="dingtalk", url=web.url + "/dingtalk?access_token=t", secret="SECret",
                       **common),
        notify.Channel(name="slack", kind="slack", url=web.url + "/slack", **common),
        notify.Channel(name="mail", kind="email", smtp_host="127.0.0.1", smtp_port=mail.port,
                       sender="cockpit@example.com", to=("ops@example.com", "lead@example.com"), **common),
    ]


def mail_channel(mail: MailSink) -> str:
    """A channel file's e-mail channel to the test's SMTP server."""
    return f"""
[[channel]]
name = "ops-mail"
kind = "email"
smtp_host = "127.0.0.1"
smtp_port = {mail.port}
sender = "cockpit@example.com"
to = "ops@example.com"
"""


def job_settings(db_url: str, tmp_path, channel_file: str, **env: str):
    """Settings for notify_job: `channel_file` written to tmp_path/notify.toml, the public URL,
    Shanghai time, and the further variables in `env`."""
    path = tmp_path / "notify.toml"
    path.write_text(channel_file)
    return load_settings({"COCKPIT_DB_URL": db_url, "COCKPIT_NOTIFY_FILE": str(path),
                          "COCKPIT_PUBLIC_URL": PUBLIC + "/", "COCKPIT_TIMEZONE": "Asia/Shanghai", **env})


def statuses(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(select(Notification.channel, Notification.status, Notification.attempts)
                            .order_by(Notification.notification_id)).all()


def test_many_skus_running_out_make_one_message_per_channel_in_each_services_format(engine, shop, sinks):
    web, mail = sinks
    report = notify.notify(engine, channels(web, mail), TZ, PUBLIC, NOW)
    assert (report.planned, report.sent, report.retrying, report.failed) == (10, 10, 0, 0)
    for path in ("/hook", "/wecom", "/dingtalk", "/slack"):
        assert len(web.at(path)) == 2, path  # the stock rule's 18 alerts in one, the campaign in another
    assert len(mail.messages) == 2
    hook = {r.body["subject"]: r.body for r in web.at("/hook")}
    stock = hook["[CRITICAL] Stock running out: 18 alerts"]
    assert sorted(stock["alert_ids"]) == shop["stock"] and stock["level"] == "critical"
    assert stock["link"] == PUBLIC + "/stock-levels"
    assert stock["text"].count("\n- ") == notify.MAX_LINES and stock["text"].endswith("- and 3 more")
    # The oldest alert first; its time in the shop's timezone.
    assert stock["text"].startswith("- Days of cover for SKU APP-117 in warehouse WH-EAST is 0.1, below 0.25 "
                                    "(since 11-11 13:38)")
    single = hook["[WARN] Campaign under ROI floor"]
    assert single["link"] == PUBLIC + "/ads-roi?campaign=CMP-7"
    assert single["text"] == "- ROI vs floor for campaign CMP-7 is -1.1, below -1 (since 11-11 13:30)"

    wecom = [r.body for r in web.at("/wecom")]
    assert {b["msgtype"] for b in wecom} == {"markdown"}
    assert any("**[CRITICAL] Stock running out: 18 alerts**" in b["markdown"]["content"]
               and f"[Open in the cockpit]({PUBLIC}/stock-levels)" in b["markdown"]["content"] for b in wecom)
    ding = web.at("/dingtalk")
    for request in ding:
        stamp = request.query["timestamp"]
        expected = base64.b64encode(hmac.new(b"SECret", f"{stamp}\nSECret".encode(), hashlib.sha256).digest()).decode()
        assert request.query["sign"] == expected and request.query["access_token"] == "t"
        assert request.body["msgtype"] == "markdown" and request.body["markdown"]["title"].startswith("[")
    slack = [r.body["text"] for r in web.at("/slack")]
    assert any(text.startswith("*[WARN] Campaign under ROI floor*") and f"<{PUBLIC}/ads-roi?campaign=CMP-7|Open in the cockpit>"
               in text for text in slack)
    sender, recipients, message = next(m for m in mail.messages if "Stock running out" in m[2]["Subject"])
    assert sender == "cockpit@example.com" and recipients == ["ops@example.com", "lead@example.com"]
    assert f"Open in the cockpit: {PUBLIC}/stock-levels" in message.get_content()
    assert [s for _, s, _ in statuses(engine)] == ["sent"] * 10


def test_an_alert_is_sent_once_then_reminded_after_the_repeat_interval_and_at_once_when_it_turns_critical(
        engine, shop, sinks):
    web, mail = sinks
    hook = [notify.Channel(name="hook", kind="webhook", url=web.url + "/hook", repeat_minutes=60)]
    assert notify.notify(engine, hook, TZ, PUBLIC, NOW).sent == 2
    assert notify.notify(engine, hook, TZ, PUBLIC, NOW + 59 * 60).planned == 0
    with engine.begin() as conn:  # the campaign worsens: critical goes out before the hour is up
        conn.execute(update(Alert).where(Alert.alert_id == shop["roi"][0]).values(level="critical"))
    worse = notify.notify(engine, hook, TZ, PUBLIC, NOW + 59 * 60 + 30)
    assert worse.planned == 1 and web.received[-1].body["subject"] == "[CRITICAL] Campaign under ROI floor"
    reminder = notify.notify(engine, hook, TZ, PUBLIC, NOW + 60 * 60)
    assert reminder.planned == 1  # the SKUs, an hour after their first message
    assert web.received[-1].body["subject"] == "[CRITICAL] still open: Stock running out: 18 alerts"
    assert len(web.received) == 4


def test_acknowledged_snoozed_and_too_mild_alerts_are_not_sent(engine, shop, sinks):
    web, mail = sinks
    with engine.begin() as conn:
        conn.execute(update(Alert).where(Alert.alert_id.in_(shop["stock"][:3])).values(status="acknowledged"))
        conn.execute(update(Alert).where(Alert.alert_id.in_(shop["stock"][3:5]))
                     .values(snoozed_until_minute=NOW // 60 + 10))
    critical_only = [notify.Channel(name="pager", kind="webhook", url=web.url + "/pager", min_level="critical")]
    assert notify.notify(engine, critical_only, TZ, PUBLIC, NOW).sent == 1
    sent = web.at("/pager")[0].body
    assert sent["subject"] == "[CRITICAL] Stock running out: 13 alerts"
    assert sorted(sent["alert_ids"]) == shop["stock"][5:]
    # Once the snooze ends, the two snoozed alerts go out (and only they).
    assert notify.notify(engine, critical_only, TZ, PUBLIC, NOW + 11 * 60).sent == 1
    assert sorted(web.at("/pager")[1].body["alert_ids"]) == shop["stock"][3:5]


def test_quiet_hours_hold_warnings_until_they_end_and_let_critical_alerts_through(engine, shop, sinks):
    web, mail = sinks
    night = int(datetime(2026, 11, 12, 2, 30, tzinfo=TZ).timestamp())
    quiet = [notify.Channel(name="hook", kind="webhook", url=web.url + "/hook", quiet_hours=(23 * 60, 7 * 60),
                            repeat_minutes=1440)]
    assert notify.notify(engine, quiet, TZ, PUBLIC, night).sent == 1
    assert web.received[0].body["level"] == "critical"
    assert notify.notify(engine, quiet, TZ, PUBLIC, night + 4 * 3600).planned == 0  # 06:30, still quiet
    morning = notify.notify(engine, quiet, TZ, PUBLIC, night + 4 * 3600 + 1800)  # 07:00
    assert morning.sent == 1 and web.received[-1].body["subject"] == "[WARN] Campaign under ROI floor"


def test_a_failing_channel_is_retried_with_growing_pauses_and_then_kept_as_failed(engine, shop, sinks):
    web, mail = sinks
    web.answers["/down"] = [(500, "boom")]
    web.answers["/flaky"] = [(503, "busy"), (200, '{"errcode": 45009, "errmsg": "api freq out of limit"}'),
                             (200, '{"errcode": 0, "errmsg": "ok"}')]
    chans = [notify.Channel(name="down", kind="webhook", url=web.url + "/down", metrics=("days_of_cover",)),
             notify.Channel(name="flaky", kind="wecom", url=web.url + "/flaky", metrics=("days_of_cover",))]
    now, tries = NOW, []
    for _ in range(notify.MAX_ATTEMPTS):
        notify.notify(engine, chans, TZ, PUBLIC, now)
        with engine.connect() as conn:
            row = conn.execute(select(Notification).where(Notification.channel == "down")).one()
        tries.append((row.attempts, row.status, row.next_attempt_ts_utc - now))
        if row.status == "pending":
            assert notify.notify(engine, chans, TZ, PUBLIC, now + 1).sent == 0  # nothing before its time
        now = row.next_attempt_ts_utc
    assert [t[2] for t in tries[:-1]] == [60, 120, 240, 480, 960, 1920, 3600]
    assert tries[-1][:2] == (notify.MAX_ATTEMPTS, "failed") and len(web.at("/down")) == notify.MAX_ATTEMPTS
    with engine.connect() as conn:
        failed = conn.execute(select(Notification.last_error).where(Notification.channel == "down")).scalar()
        flaky = conn.execute(select(Notification.status, Notification.attempts, Notification.last_error)
                             .where(Notification.channel == "flaky").order_by(Notification.notification_id)).first()
    assert failed == "HTTP 500 from the webhook endpoint"
    assert flaky == ("sent", 3, None)  # sent on its third try; the hours after bring reminders, all sent
    with engine.connect() as conn:
        frame = notify.recent_notifications(conn)
    assert frame.groupby("channel")["status"].first().to_dict() == {"down": "failed", "flaky": "sent"}
    assert set(frame["alert_count"]) == {18} and frame.loc[frame["channel"] == "flaky", "status"].eq("sent").all()


def test_an_unreachable_smtp_server_or_webhook_is_a_recorded_retry(engine, shop, sinks):
    web, mail = sinks
    closed = MailSink()
    port = closed.port
    closed.close()
    chans = [notify.Channel(name="mail", kind="email", smtp_host="127.0.0.1", smtp_port=port, sender="c@example.com",
                            to=("ops@example.com",), timeout_s=2, metrics=("roi_vs_floor",)),
             notify.Channel(name="hook", kind="slack", url=f"http://127.0.0.1:{port}/x", timeout_s=2,
                            metrics=("roi_vs_floor",))]
    report = notify.notify(engine, chans, TZ, PUBLIC, NOW)
    assert (report.sent, report.retrying) == (0, 2)
    with engine.connect() as conn:
        errors = dict(conn.execute(select(Notification.channel, Notification.last_error)).all())
    assert errors["mail"].startswith(f"SMTP 127.0.0.1:{port}:") and errors["hook"].startswith("cannot reach")


def test_the_job_reads_the_channel_file_and_does_nothing_without_one(engine, db_url, shop, sinks, tmp_path):
    web, mail = sinks
    assert notify_job(load_settings({"COCKPIT_DB_URL": db_url}), now_ts=NOW) is None
    settings = job_settings(db_url, tmp_path, f"""
[defaults]
repeat_minutes = 30
quiet_hours = "23:00-07:00"

[[channel]]
name = "ops-wecom"
kind = "wecom"
url = "{web.url}/wecom?key=k"
min_level = "critical"
""" + mail_channel(mail))
    report = notify_job(settings, now_ts=NOW)
    assert (report.planned, report.sent) == (3, 3)
    assert len(web.at("/wecom")) == 1 and len(mail.messages) == 2
    assert notify_job(settings, now_ts=NOW + 30 * 60).planned == 3  # repeat_minutes from [defaults]


def test_with_cockpit_lang_chinese_messages_are_written_in_chinese_from_each_alerts_args(
        engine, db_url, sinks, tmp_path):
    web, mail = sinks
    open_stock_alerts(engine, {"LANG-1": 2, "LANG-2": 9})  # the default rules on real stock; stored in English
    old = "Days of cover for SKU OLD-1 in warehouse WH-EAST is 0.9, below the warning threshold 1"
    with engine.begin() as conn:  # an alert from before message_args: it keeps its stored text
        stock = rule_id(conn, "Stock running out")
        conn.execute(insert(Alert).values(rule_id=stock, entity_id="OLD-1|WH-EAST", level="warn", status="open",
                                          opened_minute=T0 + 1, value=0.9, threshold=1.0, message=old,
                                          open_key=f"{stock}:OLD-1|WH-EAST"))
    settings = job_settings(db_url, tmp_path, f"""
[[channel]]
name = "ops-hook"
kind = "webhook"
url = "{web.url}/hook"

[[channel]]
name = "ops-wecom"
kind = "wecom"
url = "{web.url}/wecom?key=k"
""" + mail_channel(mail), COCKPIT_LANG="zh-CN")
    report = notify_job(settings, now_ts=NOW)
    assert (report.planned, report.sent, report.failed) == (6, 6, 0)  # two rules on three channels
    since = lambda minute: datetime_of_minute(minute, TZ).strftime("%m-%d %H:%M")  # noqa: E731
    assert since(T0) == "11-11 07:59"
    hook = {r.body["subject"]: r.body for r in web.at("/hook")}
    assert set(hook) == {"【严重告警】库存告急：3 条告警", "【严重告警】全店访客中断"}
    assert hook["【严重告警】库存告急：3 条告警"]["text"].split("\n") == [
        f"- 可售天数（SKU LANG-1 · 仓库 WH-EAST）为 {cover(2)}，低于严重阈值 0.25（{since(T0)} 起）",
        f"- 可售天数（SKU LANG-2 · 仓库 WH-EAST）为 {cover(9)}，低于警告阈值 1（{since(T0)} 起）",
        f"- {old}（{since(T0 + 1)} 起）"]
    shop = hook["【严重告警】全店访客中断"]
    assert shop["text"] == f"- 访客数（全店）为 0，低于严重阈值 1（{since(T0)} 起）" and shop["link"] == PUBLIC + "/"
    wecom = next(r.body["markdown"]["content"] for r in web.at("/wecom") if "库存告急" in r.body["markdown"]["content"])
    assert wecom.startswith('<font color="warning">**【严重告警】库存告急：3 条告警**</font>\n- 可售天数')
    assert wecom.endswith(f"[在运营驾驶舱中打开]({PUBLIC}/stock-levels)")
    _, _, message = next(m for m in mail.messages if "库存告急" in m[2]["Subject"])
    assert message["Subject"] == "【严重告警】库存告急：3 条告警"
    assert f"在运营驾驶舱中打开：{PUBLIC}/stock-levels" in message.get_content()
    # The same alerts in English: each line rendered again from its args, not from the stored text.
    english = notify.notify(engine, [notify.Channel(name="en", kind="slack", url=web.url + "/en")], TZ, PUBLIC, NOW,
                            lang="en")
    assert english.sent == 2
    slack = next(r.body["text"] for r in web.at("/en") if "Stock running out" in r.body["text"])
    assert slack == (f"*[CRITICAL] Stock running out: 3 alerts*\n"
                     f"- Days of cover for SKU LANG-1 in warehouse WH-EAST is {cover(2)}, below the critical threshold "
                     f"0.25 (since {since(T0)})\n"
                     f"- Days of cover for SKU LANG-2 in warehouse WH-EAST is {cover(9)}, below the warning threshold 1 "
                     f"(since {since(T0)})\n"
                     f"- {old} (since {since(T0 + 1)})\n"
                     f"<{PUBLIC}/stock-levels|Open in the cockpit>")


@pytest.mark.parametrize("text, problem", [
    ("[[channel]]\nname = 'a'\nkind = 'teams'\nurl = 'https://x'", "kind 'teams' is not one of webhook"),
    ("[[channel]]\nname = 'a'\nkind = 'slack'", "a slack channel needs a url"),
    ("[[channel]]\nname = 'a'\nkind = 'email'\nsmtp_host = 'h'", "needs smtp_host, sender and to"),
    ("[[channel]]\nname = 'a'\nkind = 'slack'\nurl = 'https://x'\nquiet_hours = '25:00-07:00'", "is not a time"),
    ("[[channel]]\nname = 'a'\nkind = 'slack'\nurl = 'https://x'\nrepeat_minutes = 0", "repeat_minutes must be"),
    ("[[channel]]\nname = 'a'\nkind = 'slack'\nurl = 'https://x'\nmetrics = ['stock']", "unknown metric(s) ['stock']"),
    ("[[channel]]\nname = 'a'\nkind = 'slack'\nurl = 'https://x'\nwebhook = 'y'", "unknown key(s) ['webhook']"),
    ("[[channel]]\nname = 'a'\nkind = 'slack'\nurl = 'https://x'\n[[channel]]\nname = 'a'\nkind = 'slack'\n"
     "url = 'https://y'", "two channels share a name"),
    ("[[channel]\nname = 'a'", "not valid TOML"),
    ("[channels]\nname = 'a'", "unknown section(s) ['channels']"),
])
def test_a_bad_channel_file_is_refused_with_what_to_fix(tmp_path, text, problem):
    path = tmp_path / "notify.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as refused:
        notify.load_channels(path)
    assert problem in str(refused.value) and str(path) in str(refused.value)


def test_a_missing_channel_file_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError, match="COCKPIT_NOTIFY_FILE=.* is not a file"):
        load_settings({"COCKPIT_NOTIFY_FILE": str(tmp_path / "nope.toml")})


@pytest.mark.parametrize("kind, ids, link", [
    ("sku_warehouse", ["APP-1|WH-E"], PUBLIC + "/stock-levels?sku=APP-1&wh=WH-E"),
    ("sku", ["A&B"], PUBLIC + "/product?sku=A%26B"),
    ("sku", ["A", "B"], PUBLIC + "/alerts-actions"),
    ("channel", ["paid_search"], PUBLIC + "/traffic-conversion?channel=paid_search"),
    ("shop", ["shop"], PUBLIC + "/"),
])
def test_the_link_opens_the_page_that_shows_the_alert(kind, ids, link):
    assert notify.link_for(PUBLIC, kind, ids) == link


def test_quiet_hours_wrap_past_midnight():
    channel = notify.Channel(name="a", kind="slack", url="https://x", quiet_hours=(23 * 60, 7 * 60))
    at = lambda h, m: datetime(2026, 11, 11, h, m, tzinfo=TZ)  # noqa: E731
    assert [channel.quiet_at(at(h, m)) for h, m in [(22, 59), (23, 0), (3, 0), (6, 59), (7, 0)]] == [
        False, True, True, True, False]
