"""Validated inputs to a PyMC model: person-period design data, the hazard model, likelihood and prediction."""

