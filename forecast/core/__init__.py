"""The base layer: errors, the monthly time grid, ICD 203 terms, formatting, atomic files, progress, limits, the Dask cluster."""

