"""Alert notifications: open alerts, grouped per rule, as one message per delivery channel (a
generic JSON webhook, WeCom, DingTalk, Slack or email over SMTP), with repeat intervals, quiet
hours and a link back to the page that shows them. Every message and attempt is recorded in
`notifications`; a failed delivery is retried with growing pauses and, after the last try,
kept as failed (logged, and shown on the Alerts page), never dropped silently.

The channels come from the TOML file named by COCKPIT_NOTIFY_FILE:

    [defaults]                      # optional; each key may also be set per channel
    min_level = "warn"              # warn | critical: the least severe alert sent
    repeat_minutes = 60             # remind of a still-open, unacknowledged alert this often
    quiet_hours = "23:00-07:00"     # shop time; only quiet_min_level and worse go out then,
    quiet_min_level = "critical"    # the rest is held and sent when the quiet hours end

    [[channel]]
    name = "ops-wecom"
    kind = "wecom"                  # webhook | wecom | dingtalk | slack | email
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=..."
    metrics = ["stock_cover_ratio"] # optional: only these rules' metrics

    [[channel]]
    name = "ops-dingtalk"
    kind = "dingtalk"
    url = "https://oapi.dingtalk.com/robot/send?access_token=..."
    secret = "SEC..."               # optional: a signed DingTalk robot

    [[channel]]
    name = "ops-mail"
    kind = "email"
    smtp_host = "smtp.example.com"
    smtp_port = 587
    starttls = true
    username = "cockpit@example.com"   # password: `password`, else COCKPIT_SMTP_PASSWORD
    sender = "cockpit@example.com"
    to = ["ops@example.com"]

Messages are written in COCKPIT_LANG (the alert lines rendered again from each alert's
message_args, so an alert written before a change of language still reads in the new one).

Delivery is at least once: a scheduler killed between sending and recording sends again.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import smtplib
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, Engine, insert, select, update

from cockpit import alerts, i18n
from cockpit.config import ConfigError
from cockpit.db.dialect import upsert
from cockpit.db.frames import to_frame
from cockpit.db.schema import AlertNotice, Notification
from cockpit.i18n import N_, t
from cockpit.timebuckets import datetime_of_minute

log = logging.getLogger(__name__)

KINDS = ("webhook", "wecom", "dingtalk", "slack", "email")
LEVEL_RANK = {"no_data": 1, "warn": 1, "critical": 2}
LEVEL_NAMES = {"warn": N_("WARN"), "critical": N_("CRITICAL"), "no_data": N_("NO DATA")}
MAX_ATTEMPTS = 8  # over about four hours (1, 2, 4 ... 60 minutes apart), then "failed"
RETRY_FIRST_S, RETRY_MAX_S = 60, 3600
MAX_LINES = 15  # alerts listed in one message; the link shows the rest
BATCH = 100  # messages delivered per run at most
# The page that shows an alert's entity, and the query parameters that open it there.
PAGE_OF_KIND = {"shop": "/", "channel": "/traffic-conversion", "campaign": "/ads-roi", "sku": "/product",
                "sku_warehouse": "/stock-levels"}
NOTIFICATION_COLUMNS = ["notification_id", "channel", "level", "subject", "created_ts_utc", "status", "attempts",
                        "next_attempt_ts_utc", "last_error", "sent_ts_utc", "alert_count"]
CHANNEL_KEYS = {"name", "kind", "url", "secret", "min_level", "repeat_minutes", "quiet_hours", "quiet_min_level",
                "metrics", "smtp_host", "smtp_port", "starttls", "username", "password", "sender", "to", "timeout_s"}


class DeliveryError(Exception):
    """A channel refused or could not take a message; the text says why."""


@dataclass(frozen=True)
class Channel:
    name: str
    kind: str
    url: str | None = None
    secret: str | None = field(default=None, repr=False)
    min_level: str = "warn"
    repeat_minutes: int = 60
    quiet_hours: tuple[int, int] | None = None  # (start, end) minutes of the shop's day
    quiet_min_level: str = "critical"
    metrics: tuple[str, ...] | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str | None = None
    to: tuple[str, ...] = ()
    timeout_s: float = 10.0

    def quiet_at(self, local: datetime) -> bool:
        if self.quiet_hours is None:
            return False
        start, end = self.quiet_hours
        minute = local.hour * 60 + local.minute
        return start <= minute < end if start < end else minute >= start or minute < end

    def wants(self, level: str, metric: str, quiet: bool) -> bool:
        rank = LEVEL_RANK.get(level, 0)
        if rank < LEVEL_RANK[self.min_level] or (self.metrics is not None and metric not in self.metrics):
            return False
        return not quiet or rank >= LEVEL_RANK[self.quiet_min_level]


def _clock(text: str, where: str) -> int:
    try:
        hours, minutes = (int(part) for part in text.split(":"))
    except ValueError:
        raise ConfigError(f"{where}: {text!r} is not a time such as 23:00") from None
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ConfigError(f"{where}: {text!r} is not a time such as 23:00")
    return hours * 60 + minutes


def _channel(values: dict, defaults: dict, smtp_password: str | None, index: int) -> Channel:
    merged = {**defaults, **values}
    where = f"channel {index + 1} ({merged.get('name', 'unnamed')})"
    unknown = set(merged) - CHANNEL_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; known: {', '.join(sorted(CHANNEL_KEYS))}")
    name, kind = merged.get("name"), merged.get("kind")
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        raise ConfigError(f"{where}: give it a name of 1 to 64 characters")
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    for key in ("min_level", "quiet_min_level"):
        if merged.get(key, "warn") not in ("warn", "critical"):
            raise ConfigError(f"{where}: {key} must be warn or critical")
    repeat = merged.get("repeat_minutes", 60)
    if not isinstance(repeat, int) or isinstance(repeat, bool) or not 1 <= repeat <= 7 * 1440:
        raise ConfigError(f"{where}: repeat_minutes must be a whole number from 1 to {7 * 1440}")
    quiet = merged.get("quiet_hours")
    if quiet is not None:
        if not isinstance(quiet, str) or quiet.count("-") != 1:
            raise ConfigError(f"{where}: quiet_hours must look like \"23:00-07:00\"")
        start, end = (_clock(part.strip(), where) for part in quiet.split("-"))
        quiet = None if start == end else (start, end)
    metrics = merged.get("metrics")
    if metrics is not None:
        if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
            raise ConfigError(f"{where}: metrics must be a list of metric names")
        unknown_metrics = set(metrics) - set(alerts.METRIC_LABELS)
        if unknown_metrics:
            raise ConfigError(f"{where}: unknown metric(s) {sorted(unknown_metrics)}")
        metrics = tuple(metrics)
    if kind == "email":
        to = merged.get("to")
        if isinstance(to, str):
            to = [to]
        if not merged.get("smtp_host") or not merged.get("sender") or not to:
            raise ConfigError(f"{where}: an email channel needs smtp_host, sender and to")
        port = merged.get("smtp_port", 25)
        if not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigError(f"{where}: smtp_port must be a port number")
        password = merged.get("password") or (smtp_password if merged.get("username") else None)
        return Channel(name=name, kind=kind, min_level=merged.get("min_level", "warn"), repeat_minutes=repeat,
                       quiet_hours=quiet, quiet_min_level=merged.get("quiet_min_level", "critical"), metrics=metrics,
                       smtp_host=merged["smtp_host"], smtp_port=port, starttls=bool(merged.get("starttls", False)),
                       username=merged.get("username"), password=password, sender=merged["sender"], to=tuple(to),
                       timeout_s=float(merged.get("timeout_s", 10.0)))
    url = merged.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: a {kind} channel needs a url starting with http:// or https://")
    return Channel(name=name, kind=kind, url=url, secret=merged.get("secret"), min_level=merged.get("min_level", "warn"),
                   repeat_minutes=repeat, quiet_hours=quiet, quiet_min_level=merged.get("quiet_min_level", "critical"),
                   metrics=metrics, timeout_s=float(merged.get("timeout_s", 10.0)))


def load_channels(path: Path, smtp_password: str | None = None) -> list[Channel]:
    """The channels of the TOML file at `path` (format: the module's docstring); ConfigError
    that names the file, the channel and the problem."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the notification channels ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(data) - {"defaults", "channel"}
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {sorted(unknown)}; use [defaults] and [[channel]]")
    defaults = data.get("defaults", {})
    try:
        channels = [_channel(values, defaults, smtp_password, i) for i, values in enumerate(data.get("channel", []))]
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    names = [c.name for c in channels]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: two channels share a name; names identify them in the delivery log")
    return channels


# --- what to send -------------------------------------------------------------------------------

def link_for(public_url: str, entity_kind: str, entity_ids: list[str]) -> str:
    """The page that shows these alerts' entities: the entity's drill-down when there is one."""
    path = PAGE_OF_KIND.get(entity_kind, "/alerts-actions")
    params: dict[str, str] = {}
    if len(entity_ids) == 1:
        entity = entity_ids[0]
        if entity_kind == "sku_warehouse":
            sku, _, warehouse = entity.partition("|")
            params = {"sku": sku, "wh": warehouse}
        elif entity_kind == "campaign":
            params = {"campaign": entity}
        elif entity_kind == "channel":
            params = {"channel": entity}
        elif entity_kind == "sku":
            params = {"sku": entity}
    elif entity_kind == "sku":
        path = "/alerts-actions"  # Product 360 shows one product; the alerts page lists them all
    return public_url + path + ("?" + urllib.parse.urlencode(params) if params else "")


def compose(group: pd.DataFrame, tz: ZoneInfo, public_url: str, reminder: bool,
            lang: str | None = None) -> tuple[str, str, str]:
    """(subject, plain-text body, link) of one message for `group`: one rule's due alerts
    (alerts.ALERT_COLUMNS), in `lang` (None: the language in force, else COCKPIT_LANG)."""
    level = max(group["level"], key=lambda lvl: LEVEL_RANK.get(lvl, 0))
    rule_name, count = alerts.rule_name(group["rule_name"].iloc[0], lang), len(group)
    name = t(LEVEL_NAMES[level], lang) if level in LEVEL_NAMES else level.upper()
    if reminder:
        subject = (t("[{level}] still open: {rule}: {count} alerts", lang, level=name, rule=rule_name, count=count)
                   if count > 1 else t("[{level}] still open: {rule}", lang, level=name, rule=rule_name))
    else:
        subject = (t("[{level}] {rule}: {count} alerts", lang, level=name, rule=rule_name, count=count)
                   if count > 1 else t("[{level}] {rule}", lang, level=name, rule=rule_name))
    lines = []
    order = group.assign(rank=-group["level"].map(LEVEL_RANK).fillna(0)).sort_values(["rank", "opened_minute"])
    for row in order.head(MAX_LINES).itertuples():  # the most severe, then the oldest, first
        since = datetime_of_minute(int(row.opened_minute), tz).strftime("%m-%d %H:%M")
        message = alerts.shown_message(row.message, getattr(row, "message_args", None), lang)
        lines.append(t("- {message} (since {since})", lang, message=message, since=since))
    if count > MAX_LINES:
        lines.append(t("- and {n} more", lang, n=count - MAX_LINES))
    link = link_for(public_url, group["entity_kind"].iloc[0], list(group["entity_id"]))
    return subject, "\n".join(lines), link


def plan(conn: Connection, channels: list[Channel], now_ts: float, tz: ZoneInfo, public_url: str,
         lang: str | None = None) -> list[int]:
    """Put each channel's due alerts into messages (one per rule, in `lang`: None is the
    language in force, else COCKPIT_LANG) and record that they were put there; returns the new
    notifications' ids. Due: open (not acknowledged, not snoozed),
    at or above the channel's level and outside its quiet hours (unless severe enough), and
    never sent on this channel, sent longer than repeat_minutes ago (and not still retrying),
    or risen to critical since."""
    now_minute = int(now_ts) // 60
    open_now = alerts.open_alerts(conn)
    open_now = open_now[(open_now["status"] == "open")
                        & ~(open_now["snoozed_until_minute"].fillna(-1).astype("int64") > now_minute)]
    if open_now.empty or not channels:
        return []
    ids = [int(i) for i in open_now["alert_id"]]
    notices = {(row.alert_id, row.channel): row for row in conn.execute(
        select(AlertNotice.alert_id, AlertNotice.channel, AlertNotice.level, AlertNotice.notified_ts_utc)
        .where(AlertNotice.alert_id.in_(ids)))}
    local = datetime.fromtimestamp(now_ts, tz)
    # A channel still retrying a rule's message gets no reminder on top of it: when it is back,
    # one message per rule arrives, not one per hour it was down.
    retrying = set(conn.execute(select(Notification.channel, Notification.rule_id)
                                .where(Notification.status == "pending").distinct()).all())
    created = []
    for channel in channels:
        quiet = channel.quiet_at(local)
        due, reminders = [], set()
        for row in open_now.itertuples():
            if not channel.wants(row.level, row.metric, quiet):
                continue
            last = notices.get((int(row.alert_id), channel.name))
            if last is None:
                due.append(row.Index)
            elif LEVEL_RANK.get(row.level, 0) > LEVEL_RANK.get(last.level, 0):
                due.append(row.Index)
            elif (now_ts - last.notified_ts_utc >= channel.repeat_minutes * 60
                  and (channel.name, int(row.rule_id)) not in retrying):
                due.append(row.Index)
                reminders.add(row.Index)
        if not due:
            continue
        chosen = open_now.loc[due]
        for rule_id, group in chosen.groupby("rule_id", sort=True):
            subject, body, link = compose(group, tz, public_url, reminder=set(group.index) <= reminders, lang=lang)
            level = max(group["level"], key=lambda lvl: LEVEL_RANK.get(lvl, 0))
            created.append(conn.execute(insert(Notification).returning(Notification.notification_id).values(
                channel=channel.name, rule_id=int(rule_id), level=level,
                alert_ids=json.dumps([int(i) for i in group["alert_id"]]), subject=subject, body=body, link=link,
                created_ts_utc=int(now_ts), status="pending", attempts=0, next_attempt_ts_utc=int(now_ts),
            )).scalar_one())
            rows = [{"alert_id": int(row.alert_id), "channel": channel.name, "level": row.level,
                     "notified_ts_utc": int(now_ts)} for row in group.itertuples()]
            conn.execute(upsert(conn, AlertNotice.__table__, ["alert_id", "channel"], ["level", "notified_ts_utc"]),
                         rows)
    return created


# --- how it is sent -----------------------------------------------------------------------------

def request_for(channel: Channel, subject: str, body: str, link: str, level: str, notification_id: int,
                alert_ids: list[int], now_ts: float, lang: str | None = None) -> tuple[str, bytes]:
    """(url, JSON body) of a webhook-kind channel's message, in that service's format; the
    link's text in `lang` (None: the language in force, else COCKPIT_LANG)."""
    opener = t("Open in the cockpit", lang)
    if channel.kind == "slack":
        payload = {"text": f"*{subject}*\n{body}\n<{link}|{opener}>"}
    elif channel.kind == "wecom":
        colour = "warning" if level == "critical" else "comment"
        payload = {"msgtype": "markdown", "markdown": {
            "content": f"<font color=\"{colour}\">**{subject}**</font>\n{body}\n[{opener}]({link})"}}
    elif channel.kind == "dingtalk":
        payload = {"msgtype": "markdown", "markdown": {
            "title": subject, "text": f"### {subject}\n\n{body}\n\n[{opener}]({link})"}}
    else:
        payload = {"notification_id": notification_id, "level": level, "subject": subject, "text": body,
                   "link": link, "alert_ids": alert_ids}
    url = channel.url or ""
    if channel.kind == "dingtalk" and channel.secret:
        # DingTalk's signed robots: HMAC-SHA256 of "<timestamp ms>\n<secret>", base64, in the URL.
        stamp = str(int(now_ts * 1000))
        digest = hmac.new(channel.secret.encode(), f"{stamp}\n{channel.secret}".encode(), hashlib.sha256).digest()
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode(
            {"timestamp": stamp, "sign": base64.b64encode(digest).decode()})
    return url, json.dumps(payload, ensure_ascii=False).encode("utf-8")


def _post(channel: Channel, url: str, data: bytes) -> None:
    request = urllib.request.Request(url, data=data, method="POST",
                                      headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=channel.timeout_s) as response:
            answer = response.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} from the {channel.kind} endpoint") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"cannot reach the {channel.kind} webhook ({getattr(exc, 'reason', exc)})") from None
    if channel.kind in ("wecom", "dingtalk"):
        # Both answer HTTP 200 and put the outcome in the body: errcode 0 is success.
        try:
            outcome = json.loads(answer)
        except ValueError:
            raise DeliveryError(f"{channel.kind} answered something that is not JSON: {answer[:200]!r}") from None
        if outcome.get("errcode") != 0:
            raise DeliveryError(f"{channel.kind} refused the message: errcode {outcome.get('errcode')} "
                                f"{outcome.get('errmsg', '')}".strip())


def _mail(channel: Channel, subject: str, body: str, link: str, lang: str | None = None) -> None:
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, channel.sender, ", ".join(channel.to)
    message.set_content(body + "\n\n" + t("Open in the cockpit: {link}", lang, link=link) + "\n")
    try:
        with smtplib.SMTP(channel.smtp_host, channel.smtp_port, timeout=channel.timeout_s) as smtp:
            if channel.starttls:
                smtp.starttls()
            if channel.username:
                smtp.login(channel.username, channel.password or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {channel.smtp_host}:{channel.smtp_port}: {exc}") from None


def send(channel: Channel, row, now_ts: float) -> None:
    """Deliver one stored notification `row` on `channel` (its link's text in the language in
    force, else COCKPIT_LANG); DeliveryError when it did not arrive."""
    if channel.kind == "email":
        _mail(channel, row.subject, row.body, row.link)
        return
    url, data = request_for(channel, row.subject, row.body, row.link, row.level, row.notification_id,
                            json.loads(row.alert_ids), now_ts)
    _post(channel, url, data)


def retry_delay_s(attempts: int) -> int:
    """Seconds before the next try after `attempts` failed ones: 1, 2, 4 ... 60 minutes."""
    return min(RETRY_FIRST_S * 2 ** (attempts - 1), RETRY_MAX_S)


@dataclass
class DeliveryReport:
    planned: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def deliver(engine: Engine, channels: list[Channel], now_ts: float,
            sender: Callable[[Channel, object, float], None] = send) -> DeliveryReport:
    """Send the pending notifications that are due, each outside any transaction, and record
    each outcome: sent, a retry after retry_delay_s, or failed after MAX_ATTEMPTS."""
    by_name = {channel.name: channel for channel in channels}
    report = DeliveryReport()
    with engine.connect() as conn:
        due = conn.execute(select(Notification).where(Notification.status == "pending",
                                                      Notification.next_attempt_ts_utc <= int(now_ts))
                           .order_by(Notification.notification_id).limit(BATCH)).all()
    for row in due:
        channel = by_name.get(row.channel)
        try:
            if channel is None:
                raise DeliveryError(f"channel {row.channel!r} is no longer in the notification file")
            sender(channel, row, now_ts)
        except DeliveryError as exc:
            attempts = row.attempts + 1
            final = channel is None or attempts >= MAX_ATTEMPTS
            values = {"attempts": attempts, "last_error": str(exc)[:2000],
                      "status": "failed" if final else "pending",
                      "next_attempt_ts_utc": int(now_ts) + (0 if final else retry_delay_s(attempts))}
            if final:
                report.failed += 1
                log.error("notification %s to %s failed after %d attempt(s): %s", row.notification_id, row.channel,
                          attempts, exc)
            else:
                report.retrying += 1
                log.warning("notification %s to %s failed (attempt %d), retrying in %ds: %s", row.notification_id,
                            row.channel, attempts, values["next_attempt_ts_utc"] - int(now_ts), exc)
        else:
            values = {"attempts": row.attempts + 1, "status": "sent", "sent_ts_utc": int(now_ts), "last_error": None}
            report.sent += 1
        with engine.begin() as conn:
            conn.execute(update(Notification).where(Notification.notification_id == row.notification_id)
                         .values(**values))
    return report


def notify(engine: Engine, channels: list[Channel], tz: ZoneInfo, public_url: str,
           now_ts: float | None = None, sender: Callable[[Channel, object, float], None] = send,
           lang: str | None = None) -> DeliveryReport:
    """One run: plan the due alerts into messages (one transaction), then deliver what is due;
    everything written in `lang` (None: the language in force, else COCKPIT_LANG)."""
    now_ts = time.time() if now_ts is None else now_ts
    with i18n.using(i18n.language(lang)):
        with engine.begin() as conn:
            planned = plan(conn, channels, now_ts, tz, public_url)
        report = deliver(engine, channels, now_ts, sender)
    report.planned = len(planned)
    return report


def recent_notifications(conn: Connection, limit: int = 50) -> pd.DataFrame:
    """The newest notifications with their delivery state (NOTIFICATION_COLUMNS; times epoch
    seconds, alert_count the alerts each message grouped)."""
    rows = conn.execute(select(
        Notification.notification_id, Notification.channel, Notification.level, Notification.subject,
        Notification.created_ts_utc, Notification.status, Notification.attempts, Notification.next_attempt_ts_utc,
        Notification.last_error, Notification.sent_ts_utc, Notification.alert_ids,
    ).order_by(Notification.notification_id.desc()).limit(limit)).all()
    frame = to_frame([(*row[:-1], len(json.loads(row.alert_ids))) for row in rows], NOTIFICATION_COLUMNS)
    return frame
