"""The sample's silver tables as DDL schemas, for tests that land silver rows directly."""

USAGE = (
    "device_id string, event_ts timestamp, app string, cpu_pct double, mem_mb int, battery_pct int, "
    "network string, owner_email string, firmware string, _source_file string, "
    "_ingested_at timestamp, _run_id string"
)
CONFIG = (
    "device_id string, snapshot_ts timestamp, os_version string, model string, power_saving boolean, "
    "brightness_pct int, apps_installed array<string>, _source_file string, _ingested_at timestamp, "
    "_run_id string"
)
