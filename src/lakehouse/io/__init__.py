"""I/O shared by the layers: Delta table helpers and the expectation metrics table."""
