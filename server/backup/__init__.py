"""Backups of a whole deployment and checks of the blob store, as plain functions (no Flask):
`archive` writes, verifies and restores one file; `storage_check` finds blobs missing or
damaged and whose they are. The CLI (`server/cli_backup.py`) and the tests call them."""
