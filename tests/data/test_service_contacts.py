"""The simulator's customer-service contacts: columns, causes, independence from the windows,
the sales event's longer waits, and the customers the service loses."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from data.simulator import (
    SERVICE_REASONS,
    SERVICE_TRUE_EFFECTS,
    Scenario,
    build_catalog,
    initial_state,
    lost_customers,
    service_contacts,
    service_repurchase_factor,
    simulate,
)

SEED = 5
DAY = 1440
# Monday 2025-03-03 00:00 in Asia/Shanghai, in minutes since the epoch.
H = int(datetime(2025, 3, 2, 16, 0, tzinfo=timezone.utc).timestamp()) // 60
NORMAL = Scenario()


def run(catalog, state, start: int, end: int, step: int, scenario: Scenario = NORMAL):
    parts = []
    for lo in range(start, end, step):
        frames, state = simulate(catalog, state, lo, min(lo + step, end), scenario=scenario, seed=SEED)
        parts.append(frames)
    return {name: pd.concat([p[name] for p in parts], ignore_index=True) for name in parts[0]}, state


@pytest.fixture(scope="module")
def catalog():
    return build_catalog(SEED, H)


@pytest.fixture(scope="module")
def fortnight(catalog):
    """Fourteen normal days in day windows: (frames, state after)."""
    return run(catalog, initial_state(catalog, SEED, H), H, H + 14 * DAY, DAY)


def test_contacts_follow_their_orders_and_the_bot_resolves_somewhat_below_eighty_percent(fortnight):
    f, _ = fortnight
    c, paid = f["service_contacts"], f["orders"][f["orders"]["status"] == "paid"]
    assert c["contact_id"].is_unique and len(c) > 0.08 * len(paid)
    assert set(c["reason"]) == set(SERVICE_REASONS)
    assert set(c["handled_by"]) == {"bot", "human"}
    about = c.merge(paid[["order_id", "customer_id", "ts_utc"]], on="order_id", suffixes=("", "_order"))
    assert len(about) == len(c) and (about["customer_id"] == about["customer_id_order"]).all()
    assert (about["ts_utc"] > about["ts_utc_order"]).all()
    assert (c["contact_id"] // 1_000_000 == c["order_id"] // 1_000_000).all()  # the order's minute
    bot, human = c[c["handled_by"] == "bot"], c[c["handled_by"] == "human"]
    assert bot["first_response_s"].isna().all() and human["first_response_s"].notna().all()
    assert (human["first_response_s"] >= 1).all()
    assert (c.loc[c["channel"] == "phone", "handled_by"] == "human").all()
    assert (c["resolved_ts_utc"].notna() == c["resolved"]).all()
    assert (c["resolved_ts_utc"].dropna() > c.loc[c["resolved"], "ts_utc"]).all()
    bot_resolved = ((c["handled_by"] == "bot") & c["resolved"]).mean()
    assert 0.68 < bot_resolved < 0.79, bot_resolved
    waits = human["first_response_s"].astype(float)
    assert 8 < waits.median() < 25 and waits.quantile(0.9) > 2 * waits.median()


def test_late_deliveries_and_returns_raise_contacts(fortnight):
    f, _ = fortnight
    c = f["service_contacts"]
    ship = f["shipments"][["order_id", "promised_ts_utc"]].merge(f["deliveries"][["order_id", "delivered_ts_utc"]])
    ship["late"] = ship["delivered_ts_utc"] > ship["promised_ts_utc"]
    ship["asked"] = ship["order_id"].isin(c["order_id"].dropna())
    rates = ship.groupby("late")["asked"].mean()
    assert rates[True] > 3 * rates[False], rates
    late_reason = c[c["reason"] == "late_delivery"].merge(ship, on="order_id")
    assert late_reason["late"].all() and (late_reason["ts_utc"] > late_reason["promised_ts_utc"]).all()
    returned = ship["order_id"].isin(f["returns"]["order_id"])
    assert ship.loc[returned, "asked"].mean() > 3 * ship.loc[~returned & ~ship["late"], "asked"].mean()
    damaged = f["returns"].loc[f["returns"]["reason"] == "transport_damage", "order_id"]
    asked_damaged = c.loc[c["order_id"].isin(damaged), "reason"]
    assert (asked_damaged == "damaged_item").mean() > 0.9


def test_an_orders_contacts_do_not_depend_on_the_windows_that_simulated_it(catalog):
    """A contact is a pure function of its order's rows and the seed: the day's contacts are
    what service_contacts() gives for each minute's orders alone, and an hour simulated minute
    by minute emits exactly what service_contacts() gives for the hour's frames taken together."""
    state = initial_state(catalog, SEED, H)
    day, state = run(catalog, state, H, H + DAY, DAY)
    assert len(day["service_contacts"]) > 30
    pd.testing.assert_frame_equal(day["service_contacts"], service_contacts(day, scenario=NORMAL, seed=SEED))
    minute = day["orders"]["ts_utc"] // 60
    parts = []
    for m in np.unique(minute):
        ids = day["orders"].loc[minute == m, "order_id"]
        slice_ = {name: day[name][day[name]["order_id"].isin(ids)] for name in ("orders", "shipments", "deliveries",
                                                                                  "returns")}
        parts.append(service_contacts(slice_, scenario=NORMAL, seed=SEED))
    by_minute = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(by_minute.sort_values("contact_id", ignore_index=True),
                                  day["service_contacts"].sort_values("contact_id", ignore_index=True))

    hour, _ = run(catalog, state, H + DAY + 20 * 60, H + DAY + 21 * 60, 1)
    assert len(hour["service_contacts"]) > 0
    pd.testing.assert_frame_equal(hour["service_contacts"].sort_values("contact_id", ignore_index=True),
                                  service_contacts(hour, scenario=NORMAL, seed=SEED))


def test_a_sales_event_lengthens_a_persons_first_response(catalog):
    anchor = H + 10 * DAY
    event = Scenario("sales-event", anchor)
    state = initial_state(catalog, SEED, H)
    normal, _ = run(catalog, state, H + 7 * DAY, H + 11 * DAY, DAY)
    peak, _ = run(catalog, state, H + 7 * DAY, H + 11 * DAY, DAY, scenario=event)

    def waits(frames):
        c = frames["service_contacts"]
        c = c[(c["handled_by"] == "human") & (c["ts_utc"] >= anchor * 60) & (c["ts_utc"] < (anchor + 3 * DAY) * 60)]
        return c["first_response_s"].astype(float)

    assert len(waits(peak)) > 30
    assert waits(peak).median() > 1.5 * waits(normal).median()
    assert waits(peak).quantile(0.9) > 2 * waits(normal).quantile(0.9)


def test_customers_the_service_lost_stop_buying_and_a_rebuilt_state_loses_the_same(fortnight):
    f, state = fortnight
    lost = state.lost_customers
    assert len(lost) > 10
    pd.testing.assert_frame_equal(lost.reset_index(drop=True), lost_customers(f["service_contacts"], SEED))
    factor = service_repurchase_factor(f["service_contacts"])
    assert set(np.round(np.unique(factor), 6)) <= {
        1.0, round(1 - SERVICE_TRUE_EFFECTS["unresolved_loss"], 6), round(1 - SERVICE_TRUE_EFFECTS["slow_response_loss"], 6),
        round((1 - SERVICE_TRUE_EFFECTS["unresolved_loss"]) * (1 - SERVICE_TRUE_EFFECTS["slow_response_loss"]), 6)}
    # Each contact loses its customer with probability 1 - factor.
    assert abs(len(lost) - (1 - factor).sum()) < 4 * np.sqrt((factor * (1 - factor)).sum()) + 3
    # From the first window that starts after the loss, no more orders (day windows here).
    orders = f["orders"][f["orders"]["status"] == "paid"].merge(lost, on="customer_id")
    next_window = (orders["lost_ts_utc"] // (DAY * 60) + 1) * DAY * 60 + (H % DAY) * 60
    assert not (orders["ts_utc"] >= next_window + DAY * 60).any()
