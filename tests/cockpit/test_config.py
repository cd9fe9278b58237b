"""Settings come from environment variables with documented defaults and clear errors."""
import pytest

from cockpit.config import ConfigError, Settings, load_settings


def test_defaults_apply_when_nothing_is_set():
    settings = load_settings({})
    assert settings == Settings()
    assert settings.db_url.startswith("sqlite:///") and settings.db_url.endswith("data/cockpit.db")
    assert settings.refresh_seconds == 60 and settings.retention_days == 90 and settings.rule_profile is None


def test_every_variable_is_read():
    settings = load_settings({
        "COCKPIT_DB_URL": "postgresql+psycopg://u@h/db", "COCKPIT_REFRESH_SECONDS": "15",
        "COCKPIT_SCENARIO": "incident", "COCKPIT_SIM_SEED": "7", "COCKPIT_TIMEZONE": "Europe/Berlin",
        "COCKPIT_RETENTION_DAYS": "30", "COCKPIT_SOURCES": "dropfolder", "COCKPIT_DROP_DIR": "/tmp/x",
        "COCKPIT_RULE_PROFILE": "sales-event", "COCKPIT_MAX_CATCHUP_MINUTES": "60", "COCKPIT_PORT": "9000",
    })
    assert (settings.db_url, settings.refresh_seconds, settings.scenario, settings.sim_seed) == (
        "postgresql+psycopg://u@h/db", 15, "incident", 7)
    assert settings.tz.key == "Europe/Berlin" and settings.sources == ("dropfolder",)
    assert (settings.retention_days, settings.rule_profile, settings.max_catchup_minutes, settings.port) == (
        30, "sales-event", 60, 9000)
    assert str(settings.drop_dir) == "/tmp/x"


@pytest.mark.parametrize("env, fragment", [
    ({"COCKPIT_REFRESH_SECONDS": "soon"}, "COCKPIT_REFRESH_SECONDS='soon' is not a whole number"),
    ({"COCKPIT_REFRESH_SECONDS": "0"}, "must be at least 1"),
    ({"COCKPIT_SCENARIO": "black-friday"}, "choose one of normal, sales-event, incident"),
    ({"COCKPIT_TIMEZONE": "Mars/Olympus"}, "not an IANA timezone"),
    ({"COCKPIT_SOURCES": "simulator,ftp"}, "unknown source"),
    ({"COCKPIT_TARGET_STOCKOUT_RATE": "2%"}, "COCKPIT_TARGET_STOCKOUT_RATE='2%' is not a number such as 0.8"),
    ({"COCKPIT_TARGET_ON_TIME_RATE": "95"}, "must be a share between 0 and 1"),
    ({"COCKPIT_TARGET_TURNOVER_DAYS": "-3"}, "COCKPIT_TARGET_TURNOVER_DAYS=-3.0 must be more than 0"),
])
def test_bad_values_are_refused_with_the_variable_named(env, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        load_settings(env)


def test_the_weekly_report_targets_come_from_the_environment():
    settings = load_settings({"COCKPIT_TARGET_STOCKOUT_RATE": "0.05", "COCKPIT_TARGET_TURNOVER_DAYS": "30",
                              "COCKPIT_TARGET_LOGISTICS_COST_SHARE": "0.1", "COCKPIT_TARGET_ON_TIME_RATE": "0.9",
                              "COCKPIT_TARGET_DELIVERY_SPREAD_DAYS": "1.5"})
    assert (settings.target_stockout_rate, settings.target_turnover_days, settings.target_logistics_cost_share,
            settings.target_on_time_rate, settings.target_delivery_spread_days) == (0.05, 30.0, 0.1, 0.9, 1.5)
    assert load_settings({}).target_logistics_cost_share == 0.12
