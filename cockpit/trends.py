"""Rising search terms and categories (models.trends) over the last PERIOD_DAYS against the
period before, for the Products page: candidates to stock."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection

from cockpit.metrics.trends import daily_searches, stocked_terms
from cockpit.timebuckets import EPOCH_DATE, day_start_minute, local_day_of
from models import trends as model

PERIOD_DAYS = 30


def search_trends(conn: Connection, data_minute: int, tz: ZoneInfo, days: int = PERIOD_DAYS) -> dict:
    """Terms and categories with their searches this period and the one before, the rising
    ones first. The current period ends with yesterday (complete days only)."""
    yesterday = local_day_of(data_minute, tz) - 1
    start = day_start_minute(yesterday - 2 * days + 1, tz)
    end = day_start_minute(yesterday + 1, tz)
    daily = daily_searches(conn, start, end, tz)
    end_day = pd.Timestamp(EPOCH_DATE + timedelta(days=yesterday))
    terms = model.rising(model.period_totals(daily, "term", end_day, days), "term")
    categories = model.rising(model.period_totals(daily, "category", end_day, days), "category",
                              min_searches=model.MIN_SEARCHES * 5, min_growth=1.5)
    category_of = daily.drop_duplicates("term").set_index("term")["category"]
    terms["category"] = terms["term"].map(category_of)
    names = stocked_terms(conn)
    terms["stocked"] = [any(term.lower() in name for name in names) for term in terms["term"]]
    covered_days = daily["day"].nunique()
    return {"days": days, "end_day": end_day, "covered_days": int(covered_days), "terms": terms,
            "categories": categories, "daily": daily}
