"""The JSON management API (ODK Central-compatible under /v1)."""
