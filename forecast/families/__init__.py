"""Model families: one module per family, each building a PyMC model from a :class:`~forecast.design.Design`."""
