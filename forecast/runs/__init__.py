"""Recorded runs: the SQLite ledger, scheduled updates, change reports, replay, history and retention."""

