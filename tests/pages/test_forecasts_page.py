"""The Forecasts page on a sales-event day: the day hour by hour, sold so far against the forecast."""
import time

from cockpit import forecasting
from cockpit.db.engine import get_engine
from cockpit.ingest.seed import seed_history
from tests.pages.test_pages import TZ, app_for


def test_on_a_sales_event_day_the_page_shows_today_hour_by_hour(module_db_url, monkeypatch):
    # The event peaks from today's local midnight (the seed's default anchor); its ramp and
    # four ordinary days come before.
    seed_history(get_engine(module_db_url), days=8, scenario="sales-event", seed=5, now_minute=int(time.time()) // 60 - 1,
                 tz=TZ, progress=False)
    run = forecasting.publish_forecasts(get_engine(module_db_url), TZ)
    assert run is not None
    at = app_for(module_db_url, monkeypatch, "pages/06_forecasts.py")
    assert "Today, hour by hour" in [header.value for header in at.subheader]
    tiles = {metric.label: metric for metric in at.metric}
    assert float(tiles["Forecast for the day"].value.replace(",", "")) > 0
    assert "vs forecast for these hours" in tiles["Sold so far"].delta
    assert at.selectbox(key="forecast_hourly_series").value == forecasting.SHOP_TOTAL
    assert any("Sales event today" in caption.value for caption in at.caption)
    titles = [chart.proto.spec for chart in at.get("plotly_chart")]
    assert any("units per hour" in spec for spec in titles)
    assert not [info.value for info in at.info if "promotion" in info.value.lower()]
