"""The customer pages (Customers, Customer 360, Experiments) driven by AppTest on a seeded shop
(SQLite file and PostgreSQL): no exception, and the numbers shown are the database's."""
import time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select

from cockpit import customers
from cockpit.config import load_settings
from cockpit.db.engine import get_engine
from cockpit.db.schema import CustomerScore, ExperimentAssignment, Order
from cockpit.ingest.seed import seed_history
from cockpit.jobs import customer_value_job, refresh
from cockpit.metrics.read import last_heartbeat
from cockpit.timebuckets import day_start_minute
from models import rfm
from tests.pages.test_pages import app_for, metrics_by_label

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def shop(module_db_url):
    """Nine days: the first experiment has been running two days, the second has not started.
    Customers scored on the last complete day and four days before."""
    now = int(time.time()) // 60 * 60
    engine = get_engine(module_db_url)
    seed_history(engine, days=9, scenario="normal", seed=21, now_minute=now // 60 - 1, tz=TZ, progress=False)
    settings = load_settings({"COCKPIT_DB_URL": module_db_url, "COCKPIT_SOURCES": "simulator"})
    refresh(settings, now_ts=now)
    latest = customer_value_job(settings)
    customers.publish_customer_scores(engine, TZ, as_of_day=latest.as_of_day - 4)
    customers.publish_customer_scores(engine, TZ)  # the newest run is the latest day's, as in production
    return module_db_url


def scored(conn, day):
    return conn.execute(select(CustomerScore.customer_id, CustomerScore.segment)
                        .where(CustomerScore.as_of_day == day)).all()


def test_the_customers_page_shows_the_stored_segments_the_migration_and_the_orders(shop, monkeypatch):
    at = app_for(shop, monkeypatch, "pages/07_customers.py")
    with get_engine(shop).connect() as conn:
        days = sorted(conn.execute(select(CustomerScore.as_of_day).distinct()).scalars())
        latest, earlier = dict(scored(conn, days[-1])), dict(scored(conn, days[0]))
        as_of = customers.as_of_day_for(last_heartbeat(conn).data_minute_utc, TZ)
        paid = conn.execute(select(func.count()).select_from(Order).where(
            Order.paid_ts_utc.is_not(None), Order.ts_utc >= day_start_minute(as_of + 1 - 30, TZ) * 60,
            Order.ts_utc < day_start_minute(as_of + 1, TZ) * 60)).scalar()
    shown = metrics_by_label(at)
    assert shown["Customers scored"] == f"{len(latest):,}"
    assert shown["Valuable"] == f"{sum(s in rfm.VALUABLE_SEGMENTS for s in latest.values()):,}"
    assert shown["At risk"] == f"{sum(s in rfm.AT_RISK_SEGMENTS for s in latest.values()):,}"
    moved = sum(earlier.get(c) in rfm.VALUABLE_SEGMENTS and s in rfm.AT_RISK_SEGMENTS for c, s in latest.items())
    assert shown["From valuable to at risk"] == f"{moved:,}"
    assert shown["Paid orders"] == f"{paid:,}"
    assert at.selectbox(key="customers_from").value == days[0]
    assert len(at.get("plotly_chart")) >= 5
    # The chosen segment's customers download as CSV and Excel for an outreach tool.
    segment = [button.key for button in at.download_button if button.key.startswith("export_xlsx_customers-important")]
    assert len(segment) == 1
    assert f"{sum(s == 'important_value' for s in latest.values()):,} customers" in [c.value for c in at.caption]
    assert not at.error or all("could not be loaded" not in e.value for e in at.error)


def test_the_customers_page_says_when_no_scores_are_stored_yet(fresh_db_url, monkeypatch):
    url = fresh_db_url("sqlite")
    from cockpit.db.engine import upgrade_schema

    upgrade_schema(url)
    now = int(time.time()) // 60 * 60
    seed_history(get_engine(url), days=1, scenario="normal", seed=3, now_minute=now // 60 - 1, tz=TZ, progress=False)
    at = app_for(url, monkeypatch, "pages/07_customers.py")
    assert any("No customer scores yet" in info.value for info in at.info)
    assert metrics_by_label(at)["Paid orders"] != "0"


def test_customer_360_shows_the_customers_orders_segment_and_history(shop, monkeypatch):
    engine = get_engine(shop)
    with engine.connect() as conn:
        day = conn.execute(select(func.max(CustomerScore.as_of_day))).scalar()
        customer_id, segment = conn.execute(
            select(CustomerScore.customer_id, CustomerScore.segment).where(CustomerScore.as_of_day == day)
            .order_by(CustomerScore.frequency.desc(), CustomerScore.customer_id).limit(1)).one()
        orders = conn.execute(select(func.count(), func.sum(Order.amount)).where(
            Order.customer_id == customer_id, Order.status != "cancelled")).one()
        stored_days = conn.execute(select(func.count()).select_from(CustomerScore).where(
            CustomerScore.customer_id == customer_id)).scalar()
    at = app_for(shop, monkeypatch, "pages/08_customer.py", id=str(customer_id))
    shown = metrics_by_label(at)
    assert shown["Segment"] == rfm.segment_label(segment)
    assert shown["Orders"] == f"{orders[0]:,}"
    assert shown["Spend"] == f"CN¥{orders[1]:,.2f}"  # English writes the yuan CN¥
    assert at.text_input(key="customer_id_input").value == str(customer_id)
    history = at.dataframe[0].value
    assert len(history) == stored_days == 2
    assert len(at.dataframe[1].value) >= orders[0]  # the orders table (cancelled ones included)


@pytest.mark.parametrize("asked, message", [("abc", "is not a customer ID"), ("12345", "No customer with ID 12345")])
def test_customer_360_says_clearly_when_the_id_is_wrong(shop, monkeypatch, asked, message):
    at = app_for(shop, monkeypatch, "pages/08_customer.py", id=asked)
    assert any(message in e.value for e in at.error)
    assert not at.metric


def test_customer_360_without_an_id_asks_for_one_and_the_input_opens_the_customer(shop, monkeypatch):
    at = app_for(shop, monkeypatch, "pages/08_customer.py")
    assert any("Enter a customer ID" in info.value for info in at.info)
    with get_engine(shop).connect() as conn:
        customer_id = conn.execute(select(func.min(CustomerScore.customer_id))).scalar()
    at.text_input(key="customer_id_input").set_value(str(customer_id)).run()
    assert not at.exception
    assert at.query_params["id"] == [str(customer_id)] or at.query_params["id"] == str(customer_id)
    assert "Segment" in metrics_by_label(at)


def test_the_experiments_page_reads_out_the_running_test_and_waits_for_the_other(shop, monkeypatch):
    at = app_for(shop, monkeypatch, "pages/09_experiments.py")
    with get_engine(shop).connect() as conn:
        arms = dict(conn.execute(select(ExperimentAssignment.arm, func.count())
                                 .where(ExperimentAssignment.experiment_id == "EXP-NEWPROD-INVITE")
                                 .group_by(ExperimentAssignment.arm)).all())
    shown = metrics_by_label(at)
    assert shown["control: users"] == f"{arms['control']:,}" and shown["invite: users"] == f"{arms['invite']:,}"
    verdicts = [box.value for box in [*at.warning, *at.success, *at.info] if "95% CI" in box.value]
    assert len(verdicts) == 1 and "p =" not in verdicts[0]
    assert any("Not started yet" in info.value for info in at.info)  # the win-back coupon starts on day 18
    assert any("Split as planned" in c.value or "Sample ratio" in c.value for c in [*at.caption, *at.error])
    at.number_input(key="experiments_mde_EXP-NEWPROD-INVITE").set_value(20.0).run()
    assert not at.exception
    assert any("per arm to detect 20.0 points" in box.value or "enough data" in box.value
               for box in [*at.warning, *at.success, *at.info])


def test_a_customer_id_on_the_customers_page_links_to_customer_360(shop, monkeypatch):
    at = app_for(shop, monkeypatch, "pages/07_customers.py")
    tables = [frame.value for frame in at.dataframe if "customer" in frame.value.columns]
    assert tables and all(table["customer"].str.fullmatch(r"/customer\?id=\d+").all() for table in tables)


def test_the_customer_job_leaves_the_pages_consistent_after_a_day_is_dropped(shop, monkeypatch):
    """A stored day removed (retention) disappears from the migration's choices."""
    engine = get_engine(shop)
    with engine.begin() as conn:
        days = sorted(conn.execute(select(CustomerScore.as_of_day).distinct()).scalars())
        conn.execute(delete(CustomerScore).where(CustomerScore.as_of_day == days[0]))
    at = app_for(shop, monkeypatch, "pages/07_customers.py")
    assert any("Only one day is stored" in info.value for info in at.info)


def test_customer_360_lists_the_customers_service_contacts(shop, monkeypatch):
    from cockpit.db.schema import ServiceContact

    with get_engine(shop).connect() as conn:
        customer_id, contacts = conn.execute(
            select(ServiceContact.customer_id, func.count()).group_by(ServiceContact.customer_id)
            .order_by(func.count().desc(), ServiceContact.customer_id).limit(1)).one()
        unresolved = conn.execute(select(func.count()).select_from(ServiceContact).where(
            ServiceContact.customer_id == customer_id, ServiceContact.resolved.is_(False))).scalar()
    at = app_for(shop, monkeypatch, "pages/08_customer.py", id=str(customer_id))
    caption = next(c.value for c in at.caption if "contacts," in c.value)
    assert caption.startswith(f"{contacts} contacts") and f"{unresolved} unresolved" in caption
    assert len(at.dataframe[-1].value) == contacts
