"""bench.memory's scheduler child: it refreshes the minutes it is given and reports its own
peak resident set, which grows with the size of the minute."""
from bench.memory import scheduler_peaks
from bench.refresh_peak import seeded_base
from cockpit.db.engine import dispose_engines


def test_the_scheduler_child_reports_a_peak_that_grows_with_the_minute(tmp_path):
    url = f"sqlite:///{tmp_path / 'base.db'}"
    seeded_base("sqlite", url, days=1)
    dispose_engines()
    steps = scheduler_peaks(url, [200, 20_000])  # raises when a refresh does not ingest its minute
    assert 50 < steps["imports"] <= steps["ordinary refresh"] <= steps["200"] <= steps["20000"]
    assert steps["20000"] > steps["200"] + 5, steps  # a 20,000-event minute's frames and inserts take room
