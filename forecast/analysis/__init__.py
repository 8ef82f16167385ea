"""Analyses of a fitted question: evidence influence and change attribution, scenarios, the source's picture."""

