"""The operations cockpit: core (config, database, ingestion, metrics, alerts, actions, scheduler, CLI)."""
