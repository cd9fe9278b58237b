"""The event simulator: determinism, the schema's columns, ids, the shop's behaviour, the
scenarios and exact stock accounting."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import numpy as np
from dataclasses import replace

import pandas as pd
import pytest
from sqlalchemy import BigInteger, Boolean, Float, Integer

from cockpit.db.schema import TABLES
from data import simulator as sim
from data.catalog import CATEGORY_NAMES, UNITS_PER_DAY, product_traits
from data.simulator import (
    EXPERIMENT_TRUE_EFFECTS,
    FRAME_COLUMNS,
    SCENARIOS,
    Scenario,
    SimState,
    build_catalog,
    incident_targets,
    initial_state,
    recent_deliveries,
    simulate,
)

SEED = 7
DAY = 1440
# Monday 2025-03-03 00:00 in Asia/Shanghai (UTC+8), in minutes since the epoch.
H = int(datetime(2025, 3, 2, 16, 0, tzinfo=timezone.utc).timestamp()) // 60
MONTH_DAYS = 28
NORMAL = Scenario()
NOT_TABLES = {
    "deliveries": ["shipment_id", "order_id", "delivered_ts_utc"],
    "replenishment_receipts": ["replenishment_id", "received_ts_utc", "qty_received"],
    "stock_adjustments": ["sku", "warehouse_id", "ts_utc", "qty_delta", "ref_id"],
    "return_restocks": ["return_id", "sku", "warehouse_id", "qty", "ts_utc"],
}
CATALOG_TABLES = ("suppliers", "products", "warehouses", "channels", "campaigns", "experiments", "stock_levels")


def local_hour(ts_utc) -> np.ndarray:
    return ((np.asarray(ts_utc) // 3600) + 8) % 24


def in_window(frame: pd.DataFrame, lo_minute: int, hi_minute: int, col: str = "ts_utc") -> pd.DataFrame:
    m = frame[col] // 60 if col != "minute_utc" else frame[col]
    return frame[(m >= lo_minute) & (m < hi_minute)]


def concat(frames: list[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    return {name: pd.concat([f[name] for f in frames], ignore_index=True) for name in FRAME_COLUMNS}


@pytest.fixture(scope="module")
def catalog():
    return build_catalog(SEED, H)


@pytest.fixture(scope="module")
def state0(catalog):
    return initial_state(catalog, SEED, H)


@pytest.fixture(scope="module")
def month(catalog, state0):
    """Four normal weeks in day windows: (all frames, [(state in, frames, state out), ...])."""
    t0 = time.perf_counter()
    steps = []
    state = state0
    for d in range(MONTH_DAYS):
        frames, nxt = simulate(catalog, state, H + d * DAY, H + (d + 1) * DAY, scenario=NORMAL, seed=SEED)
        steps.append((state, frames, nxt))
        state = nxt
    print(f"\n{MONTH_DAYS} simulated days in {time.perf_counter() - t0:.2f} s")
    return concat([s[1] for s in steps]), steps


# --- determinism, columns, ids --------------------------------------------------------------

def test_the_same_inputs_give_identical_frames_and_another_seed_does_not(catalog, state0):
    a, sa = simulate(catalog, state0, H + 600, H + 660, scenario=NORMAL, seed=SEED)
    b, sb = simulate(catalog, state0, H + 600, H + 660, scenario=NORMAL, seed=SEED)
    for name in FRAME_COLUMNS:
        pd.testing.assert_frame_equal(a[name], b[name])
    pd.testing.assert_frame_equal(sa.stock, sb.stock)
    pd.testing.assert_frame_equal(sa.customers, sb.customers)
    c, _ = simulate(catalog, state0, H + 600, H + 660, scenario=NORMAL, seed=SEED + 1)
    assert not a["sessions"].equals(c["sessions"])
    assert build_catalog(SEED, H).products.equals(catalog.products)
    assert not build_catalog(SEED + 1, H).products.equals(catalog.products)


def test_simulate_does_not_change_its_inputs(catalog, state0):
    before = {n: getattr(state0, n).copy() for n in ("customers", "stock", "open_replenishments")}
    simulate(catalog, state0, H, H + 120, scenario=NORMAL, seed=SEED)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(getattr(state0, name), frame)


def _kind(column) -> str:
    if isinstance(column.type, (BigInteger, Integer)):
        return "int"
    if isinstance(column.type, Float):
        return "float"
    if isinstance(column.type, Boolean):
        return "bool"
    return "str"


def _assert_dtypes_match(frame: pd.DataFrame, table) -> None:
    for column in table.columns:
        dtype = frame[column.name].dtype
        kind = _kind(column)
        if kind == "int":
            allowed = {"int64", "Int64"} if column.nullable else {"int64"}
            assert str(dtype) in allowed, (table.name, column.name, dtype)
        elif kind == "float":
            assert dtype == "float64", (table.name, column.name, dtype)
        elif kind == "bool":
            assert dtype == "bool", (table.name, column.name, dtype)
        else:
            assert dtype == "str", (table.name, column.name, dtype)


@pytest.mark.parametrize("window", [(H + 1200, H + 1260), (H + 240, H + 241)], ids=["busy hour", "quiet minute"])
def test_every_table_backed_frame_has_its_tables_columns_and_types(catalog, state0, window):
    frames, _ = simulate(catalog, state0, *window, scenario=NORMAL, seed=SEED)
    assert set(frames) == set(FRAME_COLUMNS)
    for name, frame in frames.items():
        if name in NOT_TABLES:
            assert list(frame.columns) == NOT_TABLES[name]
            continue
        assert list(frame.columns) == [c.name for c in TABLES[name].columns], name
        _assert_dtypes_match(frame, TABLES[name])


def test_the_catalog_frames_have_their_tables_columns_and_types(catalog):
    for name in CATALOG_TABLES:
        frame = getattr(catalog, name)
        assert list(frame.columns) == [c.name for c in TABLES[name].columns], name
        _assert_dtypes_match(frame, TABLES[name])
    assert 180 <= len(catalog.products) <= 220
    assert 8 <= catalog.products["category"].nunique() <= 10
    assert sorted(catalog.warehouses["tier"].value_counts().tolist()) == [3, 3]
    assert set(catalog.channels["channel"]) == {
        "paid_search", "feed_ads", "short_video_ads", "live_stream", "kol_seeding", "social_referral", "app",
        "mini_program", "community", "organic"}
    assert set(catalog.channels.set_index("channel").loc[catalog.campaigns["channel"], "kind"]) == {"paid", "content"}
    assert catalog.campaigns["roi_floor"].between(0.5, 1.5).all()
    stocked = catalog.stock_levels.groupby("warehouse_id").size()
    assert stocked[["FW-CENTRAL", "FW-SOUTHWEST", "FW-NORTHEAST"]].max() < len(catalog.products)
    assert set(EXPERIMENT_TRUE_EFFECTS) == set(catalog.experiments["experiment_id"])
    assert (catalog.products["launched_ts_utc"] > H * 60).sum() >= 3


def test_ids_are_unique_across_consecutive_windows_and_follow_the_minute_scheme(catalog, state0):
    state = state0
    steps = []
    for lo, hi in [(H + 1200, H + 1201), (H + 1201, H + 1202), (H + 1202, H + 1203), (H + 1203, H + 1263)]:
        frames, state = simulate(catalog, state, lo, hi, scenario=NORMAL, seed=SEED)
        steps.append(frames)
    f = concat(steps)
    for name, col in [("sessions", "session_id"), ("page_views", "event_id"), ("cart_adds", "event_id"),
                      ("marketing_touches", "touch_id"), ("orders", "order_id"), ("shipments", "shipment_id"),
                      ("returns", "return_id"), ("reviews", "review_id"), ("customers", "customer_id")]:
        assert len(f[name]) > 0 and f[name][col].is_unique, name
    assert not f["order_lines"].duplicated(["order_id", "line_no"]).any()
    assert not f["ad_spend"].duplicated(["campaign_id", "minute_utc"]).any()
    for name, col in [("sessions", "session_id"), ("orders", "order_id")]:
        assert (f[name][col] // 1_000_000 == f[name]["ts_utc"] // 60).all(), name
    # Page views are numbered within their session, since browsing outlives the window.
    assert (f["page_views"]["event_id"] // 1000).isin(f["sessions"]["session_id"]).all()

    # Known customers visit under their customer id; a new customer keeps their visitor id.
    known = f["sessions"][f["sessions"]["is_returning"]]
    assert (known["visitor_id"] == known["customer_id"]).all()
    assert known["customer_id"].isin(state.customers["customer_id"]).all()
    new = f["customers"].merge(f["orders"], on="customer_id")
    assert (~new["is_returning"]).all()
    assert not f["customers"]["customer_id"].isin(state0.customers["customer_id"]).any()
    assert (state0.customers["customer_id"] // 1_000_000 < H).all()
    assert len(state.customers) == len(state0.customers) + len(f["customers"])


def test_a_window_must_end_after_it_starts_and_name_a_known_scenario(catalog, state0):
    with pytest.raises(ValueError, match="must be after"):
        simulate(catalog, state0, H + 10, H + 10, scenario=NORMAL, seed=SEED)
    with pytest.raises(ValueError, match="choose one of"):
        simulate(catalog, state0, H, H + 1, scenario=Scenario("black-friday"), seed=SEED)
    assert SCENARIOS == ("normal", "sales-event", "incident")


# --- volumes, seasonality, funnel ------------------------------------------------------------

def test_a_normal_day_has_the_volumes_of_a_mid_size_shop(month):
    f, _ = month
    orders, sessions = f["orders"], f["sessions"]
    paid = orders[orders["status"] == "paid"]
    assert 12_000 <= len(sessions) / MONTH_DAYS <= 20_000
    assert 4.0 <= len(f["page_views"]) / len(sessions) <= 6.0
    assert 500 <= len(orders) / MONTH_DAYS <= 900
    assert 150 <= paid["amount"].mean() <= 300
    assert 0.02 <= (orders["status"] == "cancelled").mean() <= 0.06
    assert orders.loc[orders["status"] == "paid", "paid_ts_utc"].notna().all()
    assert orders.loc[orders["status"] == "cancelled", "cancelled_ts_utc"].notna().all()
    assert orders[["shipped_ts_utc", "delivered_ts_utc", "returned_ts_utc"]].isna().all().all()
    cost_share = f["shipments"]["cost"].sum() / paid["amount"].sum()
    assert 0.08 <= cost_share <= 0.14
    lines = f["order_lines"].merge(orders[["order_id", "amount", "discount"]], on="order_id")
    gross = (lines["qty"] * lines["unit_price"]).groupby(lines["order_id"]).sum()
    check = orders.set_index("order_id")
    assert np.allclose(gross - check.loc[gross.index, "discount"], check.loc[gross.index, "amount"], atol=0.011)


def test_evening_traffic_peaks_and_the_small_hours_are_quiet(month):
    f, _ = month
    per_hour = pd.Series(local_hour(f["sessions"]["ts_utc"])).value_counts().sort_index() / MONTH_DAYS
    assert per_hour.loc[20:21].mean() > 5 * per_hour.loc[3:4].mean()
    assert per_hour.idxmax() in (20, 21, 22)
    assert per_hour.loc[3:5].idxmin() in (3, 4, 5) and per_hour.idxmin() in (3, 4, 5)
    assert per_hour.loc[12] > 1.1 * max(per_hour.loc[10], per_hour.loc[15])  # the lunch bump


def test_weekends_bring_more_traffic_than_weekdays(month):
    f, _ = month
    day = (f["sessions"]["ts_utc"] // 60 - H) // DAY
    per_day = day.value_counts().sort_index()
    weekday = per_day[per_day.index % 7 < 5].mean()
    weekend = per_day[per_day.index % 7 >= 5].mean()
    assert weekend > 1.05 * weekday


def _funnel(f: dict[str, pd.DataFrame]) -> pd.DataFrame:
    s = f["sessions"][["session_id", "channel", "is_returning"]].copy()
    s["cart"] = s["session_id"].isin(f["cart_adds"]["session_id"])
    s["order"] = s["session_id"].isin(f["orders"]["session_id"])
    paid = f["orders"].loc[f["orders"]["status"] == "paid", "session_id"]
    s["paid"] = s["session_id"].isin(paid)
    return s


def test_returning_customers_add_to_cart_and_buy_more_often_than_new_visitors(month):
    s = _funnel(month[0])
    by = s.groupby("is_returning")[["cart", "order", "paid"]].mean()
    assert by.loc[True, "cart"] > 1.4 * by.loc[False, "cart"]
    assert by.loc[True, "paid"] > 2.0 * by.loc[False, "paid"]
    carted = s[s["cart"]].groupby("is_returning")["order"].mean()
    assert carted.loc[True] > 1.3 * carted.loc[False]
    assert (s["cart"] >= s["order"]).all() and (s["order"] >= s["paid"]).all()


def test_channels_convert_as_designed(month):
    s = _funnel(month[0])
    new = s[~s["is_returning"]].groupby("channel")["paid"].mean()
    assert new["live_stream"] > 1.8 * new["feed_ads"]
    assert new["live_stream"] > 1.8 * new["short_video_ads"]
    assert new["paid_search"] > 1.5 * new["feed_ads"]
    share = s["channel"].value_counts(normalize=True)
    assert share.max() < 0.3 and share.min() > 0.02
    returning = s[s["is_returning"]]["channel"].value_counts(normalize=True)
    assert returning.index[0] in ("app", "mini_program")


# --- customers -------------------------------------------------------------------------------

def test_purchase_counts_are_overdispersed_and_old_customers_have_mostly_lapsed(month, state0):
    f, _ = month
    counts = f["orders"].groupby("customer_id").size()
    base = state0.customers.set_index("customer_id")
    n = counts.reindex(base.index, fill_value=0)
    assert n.var() > 1.5 * n.mean()
    age_days = (H * 60 - base["created_ts_utc"]) / 86_400
    recent, old = n[age_days < 30].mean(), n[age_days > 180].mean()
    assert recent > 3 * old
    heavy = n.sort_values(ascending=False)
    assert heavy.iloc[: len(heavy) // 10].sum() > 0.5 * heavy.sum()  # the best tenth buy most


def test_customers_invite_friends_through_social_referral(month):
    f, steps = month
    referred = f["customers"][f["customers"]["referred_by"].notna()]
    assert len(referred) > 100
    assert (referred["acquisition_channel"] == "social_referral").all()
    known = pd.concat([steps[0][0].customers["customer_id"], f["customers"]["customer_id"]])
    assert referred["referred_by"].isin(known).all()
    assert (referred["referred_by"] != referred["customer_id"]).all()


# --- returns, reviews, logistics ---------------------------------------------------------

@pytest.fixture(scope="module")
def returned_lines(month, catalog):
    """Paid order lines with their order, product traits and return (if any)."""
    f, _ = month
    orders = f["orders"][f["orders"]["status"] == "paid"]
    lines = f["order_lines"].merge(orders[["order_id", "channel", "region", "warehouse_id"]], on="order_id")
    traits = product_traits(catalog.products).assign(category=catalog.products["category"])
    lines = lines.merge(traits, on="sku")
    ret = f["returns"][["order_id", "sku", "reason"]]
    return lines.merge(ret, on=["order_id", "sku"], how="left")


def test_returns_have_reasons_that_follow_category_distance_quality_and_channel(returned_lines):
    x = returned_lines
    x = x.assign(returned=x["reason"].notna())
    assert set(x["reason"].dropna()) == {"quality", "transport_damage", "size_fit", "changed_mind", "other"}
    size_fit = x.assign(sf=x["reason"] == "size_fit").groupby("category")["sf"].mean()
    assert size_fit["apparel"] > 0.05 and size_fit[["food", "electronics", "beauty"]].max() == 0
    # Far regions (the west and north-east, far from most warehouses) pooled: a month holds only
    # a dozen damaged parcels per region, too few to compare two regions alone.
    far = x["region"].isin(["Northwest", "Southwest", "Northeast"])
    damage = x.assign(d=x["reason"] == "transport_damage").groupby(far)["d"].mean()
    assert damage[True] > 1.6 * damage[False]
    quality = x.assign(q=x["reason"] == "quality")
    assert quality[quality["quality"] < 0.3]["q"].mean() > 2 * quality[quality["quality"] > 0.7]["q"].mean()
    mind = x.assign(m=x["reason"] == "changed_mind").groupby(x["channel"] == "live_stream")["m"].mean()
    assert mind[True] > 2 * mind[False]
    by_channel = x.groupby("channel")["returned"].mean()
    assert by_channel["live_stream"] > 1.3 * by_channel.drop("live_stream").mean()
    assert 0.04 < x["returned"].mean() < 0.15


def test_returns_and_reviews_come_after_delivery_and_returned_items_score_lower(month):
    f, _ = month
    delivered = f["deliveries"].set_index("order_id")["delivered_ts_utc"]
    r, v = f["returns"], f["reviews"]
    assert (r["ts_utc"].to_numpy() > delivered.loc[r["order_id"]].to_numpy()).all()
    assert (v["ts_utc"].to_numpy() > delivered.loc[v["order_id"]].to_numpy()).all()
    assert v["rating"].between(1, 5).all() and v["text"].str.len().gt(5).all()
    returned = v.merge(r[["order_id", "sku", "reason"]], on=["order_id", "sku"], how="left")
    was_returned = returned["reason"].notna()
    assert returned[was_returned]["rating"].mean() < returned[~was_returned]["rating"].mean() - 1
    damaged = returned[returned["reason"] == "transport_damage"]
    assert damaged["rating"].max() <= 3
    assert (r["refund_amount"] > 0).all() and not r[r["reason"] == "transport_damage"]["resellable"].any()


def test_forward_warehouses_deliver_their_region_faster_and_some_parcels_are_late(month):
    f, _ = month
    s = f["shipments"].merge(f["deliveries"], on=["shipment_id", "order_id"], suffixes=("", "_done"))
    s = s.merge(f["orders"][["order_id", "paid_ts_utc"]], on="order_id")
    assert (s["shipped_ts_utc"] > s["paid_ts_utc"]).all()
    assert (s["delivered_ts_utc_done"] > s["shipped_ts_utc"]).all()
    assert s["delivered_ts_utc"].isna().all()
    s["hours"] = (s["delivered_ts_utc_done"] - s["paid_ts_utc"]) / 3600
    central = s[s["region"] == "Central"].groupby("warehouse_id")["hours"].median()
    assert central["FW-CENTRAL"] < central["WH-EAST"]
    s["late"] = s["delivered_ts_utc_done"] > s["promised_ts_utc"]
    assert 0.02 < s["late"].mean() < 0.15
    by_region = s.groupby("region")["late"].mean()
    assert by_region["Northwest"] > 2 * by_region["East"]
    assert {"SF Express", "JD Logistics", "ZTO Express"} <= set(s["carrier"])


# --- marketing --------------------------------------------------------------------------------

def test_ad_spend_is_paced_over_the_day_and_clicks_grow_slower_than_spend(month, catalog):
    f, _ = month
    ads = f["ad_spend"]
    daily = ads.groupby("campaign_id")["spend"].sum() / MONTH_DAYS
    budget = catalog.campaigns.set_index("campaign_id")["daily_budget"]
    assert np.allclose(daily, budget.loc[daily.index], rtol=0.2)
    hour = pd.Series(local_hour(ads["minute_utc"] * 60))
    by_hour = ads["spend"].groupby(hour.to_numpy()).sum()
    assert by_hour[21] > 4 * by_hour[4]
    # Within a campaign and hour, the minutes that spent more got fewer clicks per yuan.
    key = ads["campaign_id"] + "@" + (ads["minute_utc"] // 60).astype(str)
    rel = ads["spend"] / ads.groupby(key)["spend"].transform("mean")
    band = pd.qcut(rel, 5, labels=False)
    per_yuan = ads.groupby(band)["clicks"].sum() / ads.groupby(band)["spend"].sum()
    assert per_yuan.is_monotonic_decreasing and per_yuan.iloc[0] > 1.2 * per_yuan.iloc[-1]


def test_paid_sessions_carry_their_campaign_and_owned_ones_none(month, catalog):
    s = month[0]["sessions"]
    kind = catalog.channels.set_index("channel")["kind"]
    s = s.assign(kind=kind.loc[s["channel"]].to_numpy())
    assert s.loc[s["kind"] == "paid", "campaign_id"].notna().all()
    assert s.loc[s["kind"].isin(["owned", "organic", "social"]), "campaign_id"].isna().all()
    camp_channel = catalog.campaigns.set_index("campaign_id")["channel"]
    tagged = s[s["campaign_id"].notna()]
    assert (camp_channel.loc[tagged["campaign_id"]].to_numpy() == tagged["channel"].to_numpy()).all()


def test_paused_campaigns_spend_nothing_and_bring_no_visitors(catalog, state0):
    paused = SimState(state0.customers, state0.stock, state0.open_replenishments, frozenset({"CMP-PS-BRAND"}))
    f, nxt = simulate(catalog, paused, H + 1200, H + 1320, scenario=NORMAL, seed=SEED)
    assert "CMP-PS-BRAND" not in set(f["ad_spend"]["campaign_id"])
    assert f["ad_spend"]["campaign_id"].nunique() == len(catalog.campaigns) - 1
    assert (f["sessions"]["campaign_id"] != "CMP-PS-BRAND").all()
    assert (f["marketing_touches"]["campaign_id"] != "CMP-PS-BRAND").all()
    assert nxt.paused_campaigns == frozenset({"CMP-PS-BRAND"})


def test_touches_record_each_visit_and_earlier_touches_from_other_channels(month):
    f, _ = month
    t, s = f["marketing_touches"], f["sessions"]
    own = t.merge(s[["visitor_id", "ts_utc", "channel"]], on=["visitor_id", "ts_utc", "channel"])
    assert len(own.drop_duplicates(["visitor_id", "ts_utc"])) >= 0.99 * len(s.drop_duplicates(["visitor_id", "ts_utc"]))
    assert set(t["touch_type"]) == {"impression", "click", "visit"}
    buyers = f["orders"][f["orders"]["status"] == "paid"][["customer_id", "ts_utc"]]
    journeys = t.merge(buyers, left_on="visitor_id", right_on="customer_id", suffixes=("", "_order"))
    journeys = journeys[journeys["ts_utc"] <= journeys["ts_utc_order"]]
    channels = journeys.groupby(["customer_id", "ts_utc_order"])["channel"].nunique()
    assert (channels >= 2).mean() > 0.3
    assert (journeys["ts_utc"] < journeys["ts_utc_order"] - 3600).mean() > 0.2


# --- experiments ------------------------------------------------------------------------------

def test_experiments_assign_once_and_show_their_true_effects(month, catalog):
    f, _ = month
    a, orders = f["experiment_assignments"], f["orders"]
    assert not a.duplicated(["experiment_id", "customer_id"]).any()
    exp = catalog.experiments.set_index("experiment_id")
    for eid, row in exp.iterrows():
        mine = a[a["experiment_id"] == eid]
        assert (mine["ts_utc"] == row["start_ts_utc"]).all()
        assert set(mine["arm"]) == set(row["arms"].split(","))
        assert mine["arm"].value_counts(normalize=True).max() < 0.55
    invite = a[a["experiment_id"] == "EXP-NEWPROD-INVITE"]
    start, end = exp.loc["EXP-NEWPROD-INVITE", ["start_ts_utc", "end_ts_utc"]]
    assert end <= (H + MONTH_DAYS * DAY) * 60
    paid = orders[(orders["status"] == "paid") & orders["ts_utc"].between(start, end - 1)]
    conv = invite.assign(bought=invite["customer_id"].isin(paid["customer_id"])).groupby("arm")["bought"].mean()
    truth = EXPERIMENT_TRUE_EFFECTS["EXP-NEWPROD-INVITE"]
    assert abs(conv["control"] - truth["control"]) < 0.04
    assert abs((conv["invite"] - conv["control"]) - truth["lift"]) < 0.035
    coupon = a[a["experiment_id"] == "EXP-WINBACK-COUPON"]
    since = exp.loc["EXP-WINBACK-COUPON", "start_ts_utc"]
    back = orders[(orders["status"] == "paid") & (orders["ts_utc"] >= since)]
    won = coupon.assign(bought=coupon["customer_id"].isin(back["customer_id"])).groupby("arm")["bought"].mean()
    assert won["coupon"] > 2 * won["control"]


# --- stock and purchasing ------------------------------------------------------------------

def apply_events(stock: pd.DataFrame, open_po: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> pd.Series:
    """What the ingestion does: the window's stock movements applied to the stock it started with."""
    on_hand = stock.set_index(["sku", "warehouse_id"])["on_hand"].astype("int64")
    paid = frames["orders"][frames["orders"]["status"] == "paid"][["order_id", "warehouse_id"]]
    sold = frames["order_lines"].merge(paid, on="order_id").groupby(["sku", "warehouse_id"])["qty"].sum()
    pos = pd.concat([open_po, frames["replenishment_orders"]])[["replenishment_id", "sku", "warehouse_id"]]
    received = frames["replenishment_receipts"].merge(pos, on="replenishment_id", validate="one_to_one")
    got = received.groupby(["sku", "warehouse_id"])["qty_received"].sum()
    adjusted = frames["stock_adjustments"].groupby(["sku", "warehouse_id"])["qty_delta"].sum()
    delta = got.add(adjusted, fill_value=0).sub(sold, fill_value=0)
    return on_hand.add(delta, fill_value=0).astype("int64")


def test_applying_a_windows_events_to_its_stock_gives_exactly_the_stock_it_returns(month):
    _, steps = month
    for before, frames, after in steps:
        expected = apply_events(before.stock, before.open_replenishments, frames)
        got = after.stock.set_index(["sku", "warehouse_id"])["on_hand"]
        pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)
        assert (got >= 0).all()
        received = set(frames["replenishment_receipts"]["replenishment_id"])
        still_open = set(after.open_replenishments["replenishment_id"])
        expected_open = (set(before.open_replenishments["replenishment_id"])
                         | set(frames["replenishment_orders"]["replenishment_id"])) - received
        assert still_open == expected_open


def test_purchasing_reorders_below_the_reorder_point_and_orders_arrive(month):
    f, steps = month
    po, rec = f["replenishment_orders"], f["replenishment_receipts"]
    assert len(po) > 100 and len(rec) > 100
    assert po["replenishment_id"].str.fullmatch(r"PO-\d+-\d+").all() and po["replenishment_id"].is_unique
    assert (po[["status", "source", "created_by"]] == ["open", "purchasing", "purchasing"]).all().all()
    assert po[["received_ts_utc", "qty_received"]].isna().all().all()
    assert ((po["expected_ts_utc"] - po["created_ts_utc"]) >= 86_400).all()
    # A receipt comes within a few days of its expected time, never before the order.
    known = pd.concat([steps[0][0].open_replenishments, po]).set_index("replenishment_id")
    lag = rec["received_ts_utc"].to_numpy() - known.loc[rec["replenishment_id"], "expected_ts_utc"].to_numpy()
    assert np.abs(lag).max() < 5 * 86_400 and (lag != 0).mean() > 0.9
    assert (rec["received_ts_utc"].to_numpy() > known.loc[rec["replenishment_id"], "created_ts_utc"].to_numpy()).all()
    # Stock does not run down: the month ends with about the stock it began with.
    start, end = steps[0][0].stock["on_hand"].sum(), steps[-1][2].stock["on_hand"].sum()
    assert 0.4 < end / start < 1.6


def test_replenishments_from_managers_arrive_and_move_stock_like_any_other(catalog, state0):
    sku, wh = catalog.stock_levels.iloc[0][["sku", "warehouse_id"]]
    manual = pd.DataFrame({"replenishment_id": ["ACT-manager-1"], "sku": [sku], "warehouse_id": [wh], "qty": [40],
                           "created_ts_utc": [(H - 3 * DAY) * 60], "expected_ts_utc": [(H - DAY) * 60]})
    open_po = pd.concat([state0.open_replenishments, manual.astype(state0.open_replenishments.dtypes)],
                        ignore_index=True)
    state = SimState(state0.customers, state0.stock, open_po, frozenset())
    frames, after = simulate(catalog, state, H + 60, H + 61, scenario=NORMAL, seed=SEED)
    receipt = frames["replenishment_receipts"].set_index("replenishment_id").loc["ACT-manager-1"]
    assert receipt["qty_received"] > 0 and receipt["received_ts_utc"] == (H + 60) * 60
    assert "ACT-manager-1" not in set(after.open_replenishments["replenishment_id"])
    expected = apply_events(state.stock, state.open_replenishments, frames)
    pd.testing.assert_series_equal(after.stock.set_index(["sku", "warehouse_id"])["on_hand"].sort_index(),
                                   expected.sort_index(), check_names=False)


# --- scenarios ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sales_event(catalog, month):
    """A sales event peaking at midnight after the first week, from three days before."""
    _, steps = month
    anchor = H + 7 * DAY
    event = Scenario("sales-event", anchor)
    state = steps[3][2]  # after day 3
    frames = []
    for d in range(4, 10):
        f, state = simulate(catalog, state, H + d * DAY, H + (d + 1) * DAY, scenario=event, seed=SEED)
        frames.append(f)
    return anchor, concat(frames)


def test_a_sales_event_peaks_near_ten_times_the_same_hour_of_a_normal_day(month, sales_event):
    anchor, ev = sales_event
    normal = month[0]
    peak = len(in_window(ev["sessions"], anchor, anchor + 60))
    usual = len(in_window(normal["sessions"], anchor - 7 * DAY, anchor - 7 * DAY + 60))
    assert 7 <= peak / usual <= 13
    peak_orders = len(in_window(ev["orders"], anchor, anchor + 60))
    usual_orders = len(in_window(normal["orders"], anchor - 7 * DAY, anchor - 7 * DAY + 60))
    assert peak_orders > 7 * usual_orders


def test_a_sales_event_ramps_up_stays_high_all_day_then_returns_to_normal(month, sales_event):
    anchor, ev = sales_event
    normal = month[0]

    def ratio(day):  # sessions on that day against the same day without the event
        lo = anchor + day * DAY
        return len(in_window(ev["sessions"], lo, lo + DAY)) / len(in_window(normal["sessions"], lo, lo + DAY))

    ramp = [ratio(-3), ratio(-2), ratio(-1)]
    assert ramp[0] < ramp[1] < ramp[2] and 1.2 < ramp[2] < 1.8
    assert 2.0 < ratio(0) < 4.5
    assert 0.85 < ratio(1) < 1.15
    late_hours = len(in_window(ev["sessions"], anchor + 20 * 60, anchor + 22 * 60))
    usual_late = len(in_window(normal["sessions"], anchor - 7 * DAY + 20 * 60, anchor - 7 * DAY + 22 * 60))
    assert late_hours > 1.7 * usual_late


def test_a_sales_events_earlier_member_days_bring_about_eighty_percent_more_traffic(catalog, month):
    _, steps = month
    anchor = H + 35 * DAY  # its member days: 28 days before (H + 7 days, inside the month) and 56
    state_in, normal_frames, _ = steps[7]
    frames, _ = simulate(catalog, state_in, H + 7 * DAY, H + 8 * DAY, scenario=Scenario("sales-event", anchor), seed=SEED)
    ratio = len(frames["sessions"]) / len(normal_frames["sessions"])
    assert 1.6 < ratio < 2.0  # PROMO_DAY_MULTIPLIER 1.8
    assert len(frames["orders"]) > 1.25 * len(normal_frames["orders"])  # fewer of the extra visitors buy


def test_the_promotions_calendar_holds_the_event_with_its_ramp_and_the_member_days():
    anchor = H + 35 * DAY
    calendar = sim.promotions(Scenario("sales-event", anchor)).set_index("kind")
    anchor_day = (anchor + 8 * 60) // DAY
    event, ramp = calendar.loc["sales_event"], calendar.loc["pre_event"]
    assert (event["first_day"], event["last_day"]) == (anchor_day, anchor_day)
    assert (ramp["first_day"], ramp["last_day"]) == (anchor_day - sim.PRE_EVENT_DAYS, anchor_day - 1)
    # Planned uplifts: the mean traffic multiplier over each period (the event day's peak and decay).
    assert event["expected_uplift"] == pytest.approx(3.29, abs=0.01) and 1.1 < ramp["expected_uplift"] < 1.3
    members = calendar.loc[["member_day"]]
    assert sorted(members["first_day"]) == [anchor_day - 56, anchor_day - 28]
    assert (members["first_day"] == members["last_day"]).all() and (members["expected_uplift"] == 1.8).all()
    assert sim.promotions(NORMAL).empty and sim.promotions(Scenario("incident", anchor)).empty


def test_deliveries_are_slower_and_later_during_a_sales_event(month, sales_event):
    anchor, ev = sales_event

    def delivery(f, lo):
        o = in_window(f["orders"], lo, lo + 4 * 60)
        s = f["shipments"].merge(f["deliveries"], on=["shipment_id", "order_id"], suffixes=("", "_done"))
        s = s.merge(o[["order_id", "paid_ts_utc"]], on="order_id")
        return (s["delivered_ts_utc_done"] - s["paid_ts_utc"]).median(), (
            s["delivered_ts_utc_done"] > s["promised_ts_utc"]).mean()

    peak_hours, peak_late = delivery(ev, anchor)
    usual_hours, usual_late = delivery(month[0], anchor - 7 * DAY)
    assert peak_hours > 1.4 * usual_hours and peak_late > 3 * usual_late


@pytest.fixture(scope="module")
def incident(catalog, month):
    """An incident at 10:00 local on day 7, with its history, beside the same windows without it."""
    _, steps = month
    anchor = H + 7 * DAY + 10 * 60
    inc = Scenario("incident", anchor)
    state, history = steps[0][0], []
    for d in range(7):
        f, state = simulate(catalog, state, H + d * DAY, H + (d + 1) * DAY, scenario=inc, seed=SEED)
        history.append(f)
    out = {}
    for name, scenario, start in (("incident", inc, state), ("normal", NORMAL, steps[6][2])):
        pre, s1 = simulate(catalog, start, H + 7 * DAY, anchor, scenario=scenario, seed=SEED)
        during, s2 = simulate(catalog, s1, anchor, anchor + 360, scenario=scenario, seed=SEED)
        out[name] = (pre, during, s1, s2)
    return anchor, concat(history), out


def test_the_incident_drops_one_channels_traffic_by_about_eighty_five_percent(catalog, incident):
    anchor, _, out = incident
    target = incident_targets(catalog)["channel"]
    inc, normal = out["incident"][1]["sessions"], out["normal"][1]["sessions"]
    by_inc, by_normal = inc["channel"].value_counts(), normal["channel"].value_counts()
    assert 0.05 < by_inc[target] / by_normal[target] < 0.3
    others = by_inc.drop(target).sum() / by_normal.drop(target).sum()
    assert 0.9 < others < 1.1


def test_the_incident_brings_quality_returns_of_one_sku_from_its_first_minutes(catalog, incident, month):
    anchor, history, out = incident
    sku = incident_targets(catalog)["return_sku"]
    spike = in_window(out["incident"][1]["returns"], anchor, anchor + 360)
    spike = spike[spike["sku"] == sku]
    assert len(spike) >= 10 and (spike["reason"] == "quality").mean() > 0.9
    assert (spike["ts_utc"] // 60 - anchor).min() < 15
    usual = in_window(pd.concat([month[0]["returns"], out["normal"][0]["returns"], out["normal"][1]["returns"]]),
                      anchor, anchor + 360)
    assert (usual["sku"] == sku).sum() <= 2
    # They are returns of real earlier orders of that SKU, delivered before they come back.
    lines = history["order_lines"].merge(history["deliveries"], on="order_id")
    matched = spike.merge(lines[lines["sku"] == sku], on=["order_id", "sku"])
    assert len(matched) == len(spike) and (matched["ts_utc"] > matched["delivered_ts_utc"]).all()
    twice = spike.merge(history["returns"], on=["order_id", "sku"])
    assert twice.empty


def test_a_state_rebuilt_from_the_events_brings_the_same_incident_returns(catalog, incident):
    anchor, history, out = incident
    pre, during, before, _ = out["incident"]
    inc = Scenario("incident", anchor)
    stored = {name: pd.concat([history[name], pre[name]], ignore_index=True)
              for name in ("orders", "order_lines", "deliveries", "returns")}
    delivered = stored["deliveries"][stored["deliveries"]["delivered_ts_utc"] < anchor * 60]
    rebuilt = recent_deliveries(catalog, inc, stored["orders"], stored["order_lines"], delivered, stored["returns"])
    assert recent_deliveries(catalog, NORMAL, stored["orders"], stored["order_lines"], delivered,
                             stored["returns"]) is None
    from_db = SimState(before.customers, before.stock, before.open_replenishments, frozenset(), rebuilt)
    again, _ = simulate(catalog, from_db, anchor, anchor + 360, scenario=inc, seed=SEED)

    def early(f):
        return f["returns"][f["returns"]["return_id"] % 1_000_000 >= 500_000].set_index("return_id")

    chained, from_events = early(during), early(again)
    assert len(chained) >= 10
    # Parcels still on their way at the anchor are not in the database yet: a subset, alike.
    assert set(from_events.index) <= set(chained.index) and len(from_events) > 0.7 * len(chained)
    same = chained.loc[from_events.index]
    assert (same["ts_utc"] == from_events["ts_utc"]).all() and (same["qty"] == from_events["qty"]).all()
    assert np.allclose(same["refund_amount"], from_events["refund_amount"], atol=0.011)
    without = SimState(before.customers, before.stock, before.open_replenishments, frozenset(), None)
    none, _ = simulate(catalog, without, anchor, anchor + 360, scenario=inc, seed=SEED)
    assert early(none).empty


def test_the_incident_collapses_one_campaigns_roi_while_it_overspends(catalog, incident):
    _, _, out = incident
    camp = incident_targets(catalog)["campaign"]

    def roi(f):
        spend = f["ad_spend"].loc[f["ad_spend"]["campaign_id"] == camp, "spend"].sum()
        paid = f["orders"][(f["orders"]["campaign_id"] == camp) & (f["orders"]["status"] == "paid")]
        return spend, (paid["amount"].sum() - spend) / spend, len(paid)

    spend_inc, roi_inc, orders_inc = roi(out["incident"][1])
    spend_normal, roi_normal, orders_normal = roi(out["normal"][1])
    assert 2.4 < spend_inc / spend_normal < 3.75  # INCIDENT_CAMPAIGN_SPEND_FACTOR, give or take the noise
    assert orders_inc <= 0.3 * orders_normal and roi_inc < 0 < roi_normal


def test_the_incident_writes_off_a_best_seller_in_one_warehouse_and_stops_its_reorders(catalog, incident):
    anchor, _, out = incident
    t = incident_targets(catalog)
    _, during, before, after = out["incident"]
    adj = during["stock_adjustments"]
    assert len(adj) == 1 and adj.iloc[0]["ts_utc"] == anchor * 60
    assert (adj.iloc[0]["sku"], adj.iloc[0]["warehouse_id"]) == (t["stockout_sku"], t["stockout_warehouse"])

    def on_hand(state):
        return state.stock.set_index(["sku", "warehouse_id"]).loc[(t["stockout_sku"], t["stockout_warehouse"]),
                                                                  "on_hand"]

    assert on_hand(before) > 30 and adj.iloc[0]["qty_delta"] < -20
    assert on_hand(after) == 0
    po = during["replenishment_orders"]
    assert not ((po["sku"] == t["stockout_sku"]) & (po["warehouse_id"] == t["stockout_warehouse"])).any()
    expected = apply_events(before.stock, before.open_replenishments, during)
    pd.testing.assert_series_equal(after.stock.set_index(["sku", "warehouse_id"])["on_hand"].sort_index(),
                                   expected.sort_index(), check_names=False)
    # The warehouse sold what was left and no more; the SKU still sold elsewhere.
    lines = during["order_lines"].merge(during["orders"][during["orders"]["status"] == "paid"], on="order_id")
    lines = lines[lines["sku"] == t["stockout_sku"]]
    from_there = lines.loc[lines["warehouse_id"] == t["stockout_warehouse"], "qty"].sum()
    assert from_there == on_hand(before) + adj.iloc[0]["qty_delta"] - on_hand(after)
    assert (lines["warehouse_id"] != t["stockout_warehouse"]).any()


def test_incident_targets_name_existing_things_and_do_not_change(catalog):
    t = incident_targets(catalog)
    assert t == incident_targets(build_catalog(SEED, H))
    assert t["channel"] in set(catalog.channels["channel"])
    assert {t["return_sku"], t["stockout_sku"]} <= set(catalog.products["sku"])
    assert t["return_sku"] != t["stockout_sku"]
    assert t["campaign"] in set(catalog.campaigns["campaign_id"])
    assert t["stockout_warehouse"] in set(catalog.warehouses["warehouse_id"])
    category = catalog.products.set_index("sku").loc[t["return_sku"], "category"]
    assert category in CATEGORY_NAMES


# --- speed (printed, not asserted) ------------------------------------------------------------

def test_one_minute_windows_take_a_few_milliseconds_with_fifty_thousand_customers(catalog, monkeypatch):
    monkeypatch.setattr(sim, "BASE_CUSTOMERS", 50_000)
    state = initial_state(catalog, SEED, H)
    assert len(state.customers) > 49_000
    lo = H + 20 * 60  # the evening peak
    timings, sessions = [], []
    for k in range(120):
        t0 = time.perf_counter()
        frames, state = simulate(catalog, state, lo + k, lo + k + 1, scenario=NORMAL, seed=SEED)
        timings.append(time.perf_counter() - t0)
        sessions.append(len(frames["sessions"]))
    t0 = time.perf_counter()
    simulate(catalog, state, H + DAY, H + 2 * DAY, scenario=NORMAL, seed=SEED)
    day = time.perf_counter() - t0
    print(f"\none-minute window: median {1000 * np.median(timings):.1f} ms, "
          f"p90 {1000 * np.percentile(timings, 90):.1f} ms; one-day window {day:.2f} s")
    assert len(sessions) == 120 and 1000 < sum(sessions) < 10_000  # the evening peak, many known customers


def test_browsing_keeps_its_true_time_while_the_purchase_path_stays_in_the_window():
    catalog, state = build_catalog(SEED, H), initial_state(build_catalog(SEED, H), SEED, H)
    lo = H + 20 * 60
    later_views, checkouts_late, orders_late = 0, 0, 0
    for minute in range(lo, lo + 30):
        frames, state = simulate(catalog, state, minute, minute + 1, scenario=NORMAL, seed=SEED)
        views = frames["page_views"]
        after = views["ts_utc"] >= (minute + 1) * 60
        later_views += int(after.sum())
        checkouts_late += int((after & views["page_type"].isin(["cart", "checkout"])).sum())
        orders_late += int((frames["orders"]["ts_utc"] >= (minute + 1) * 60).sum())
        orders_late += int((frames["cart_adds"]["ts_utc"] >= (minute + 1) * 60).sum())
    assert later_views > 100  # sessions last minutes: most of their pages come after the start minute
    assert checkouts_late == 0 and orders_late == 0


# --- dead stock and clearances ---------------------------------------------------------------

def test_faded_products_are_dead_stock_sold_rarely_but_stocked_for_their_old_pace(month, catalog):
    f, _ = month
    traits = product_traits(catalog.products)
    faded = traits[traits["faded"]]
    assert 0.03 < len(faded) / len(traits) < 0.15
    sold = f["order_lines"].groupby("sku")["qty"].sum()
    per_day = sold.reindex(traits["sku"], fill_value=0).to_numpy() / MONTH_DAYS
    planned = traits["planned_popularity"].to_numpy() * UNITS_PER_DAY
    is_faded = traits["faded"].to_numpy()
    assert per_day[is_faded].sum() < 0.02 * planned[is_faded].sum()
    assert per_day[~is_faded].sum() > 0.5 * planned[~is_faded].sum()
    stocked = catalog.stock_levels.groupby("sku")["on_hand"].sum()
    assert (stocked.reindex(faded["sku"]) >= 5).all()  # bought for the pace it had


def test_a_clearance_sells_its_sku_at_the_discounted_price_and_far_more_of_it(catalog, state0):
    traits = product_traits(catalog.products)
    sku = traits.loc[traits["faded"], "sku"].iloc[0]
    price = float(catalog.products.set_index("sku").loc[sku, "price"])
    start, end = H + 2 * DAY, H + 3 * DAY
    clearance = pd.DataFrame({"sku": [sku], "kind": ["flash_sale"], "discount_pct": [40.0],
                              "start_ts_utc": [start * 60], "end_ts_utc": [(start + DAY // 2) * 60]})
    plain, _ = simulate(catalog, state0, start, end, scenario=NORMAL, seed=SEED)
    cleared, _ = simulate(catalog, replace(state0, clearances=clearance), start, end, scenario=NORMAL, seed=SEED)
    lines = cleared["order_lines"].merge(cleared["orders"][["order_id", "ts_utc"]], on="order_id")
    mine = lines[lines["sku"] == sku]
    during = mine["ts_utc"] < (start + DAY // 2) * 60
    assert plain["order_lines"].loc[plain["order_lines"]["sku"] == sku, "qty"].sum() <= 1
    assert mine.loc[during, "qty"].sum() >= 10
    assert set(mine.loc[during, "unit_price"].round(2)) == {round(price * 0.6, 2)}
    assert set(mine.loc[~during, "unit_price"].round(2)) <= {round(price, 2)}
    others = lines[lines["sku"] != sku].merge(catalog.products[["sku", "price"]], on="sku")
    assert (others["unit_price"] == others["price"]).all()


def test_a_clearance_frame_without_its_columns_is_refused(catalog, state0):
    with pytest.raises(ValueError, match="state.clearances lacks columns"):
        simulate(catalog, replace(state0, clearances=pd.DataFrame({"sku": ["X"]})), H, H + 60, scenario=NORMAL,
                 seed=SEED)
