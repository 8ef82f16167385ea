"""Files to validated inputs: YAML and CSV reading, grades, priors, question specs, evidence, sources and intake."""

