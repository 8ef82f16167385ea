"""Fitting: compiled models and sampling, diagnostics, importance sampling, fingerprints, results and their storage."""

