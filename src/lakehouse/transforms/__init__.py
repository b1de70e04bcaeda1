"""Pure ``DataFrame -> DataFrame`` transforms (no reads, writes or actions)."""
