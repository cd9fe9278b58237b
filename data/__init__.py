"""The event simulator and demo data (pure: no database access)."""
