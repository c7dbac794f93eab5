"""OpenRosa routes (filled in by the OpenRosa work)."""
