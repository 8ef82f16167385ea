"""A question ready to fit: its validated inputs plus the model data at an as-of date and the fit.

The common case::

    import forecast
    q = forecast.load("belarus-entry")        # spec, indicator library and evidence, validated
    result = q.fit(as_of="2024-09-30")       # a FitResult
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from forecast.inputs.project import Project, QuestionInputs


class Question(QuestionInputs):
    """A question ready to fit: spec + indicator library + evidence items (see :class:`QuestionInputs`)."""

    @classmethod
    def from_inputs(cls, inputs: QuestionInputs) -> "Question":
        """The same inputs, as a Question that can be fitted."""
        return cls(**{f.name: getattr(inputs, f.name) for f in fields(QuestionInputs)})

    def design(self, as_of=None):
        """The model data as of a date (default today); the date is checked by :meth:`check_as_of`."""
        from forecast.model.design import make_design

        as_of = self.check_as_of(as_of, horizons=False)
        return make_design(self.spec, self.library, self.evidence, as_of)

    def fit(
        self,
        as_of=None,
        seed: int = 1,
        draws: int | None = None,
        tune: int | None = None,
        chains: int | None = None,
        cores: int | None = None,
        future_paths: int | None = None,
        progressbar: bool | None = None,
    ):
        """Fit the question as of a date (default today) and return a :class:`~forecast.inference.result.FitResult`."""
        from forecast.inference.diagnostics import check_sampling
        from forecast.inference.fingerprint import fingerprints, package_versions
        from forecast.inference.result import FitResult, headline_horizon
        from forecast.inference.sampling import fit_design
        from forecast.inputs.settings import SampleConfig

        design = self.design(self.check_as_of(as_of))  # a horizon after as-of, or the fix to make
        config = SampleConfig.from_settings(self.spec.sampler, draws=draws, tune=tune, chains=chains, cores=cores, future_paths=future_paths)
        if progressbar is None:  # a progress bar in a notebook, quiet in scripts and scheduled jobs
            from forecast.core.progress import interactive

            progressbar = interactive()
        idata, seconds = fit_design(design, self.spec.horizons, config, seed, progressbar=progressbar)
        future = [h for h in self.spec.horizons if h > design.as_of]
        headline = headline_horizon(self.spec, future, design.as_of)
        diag = check_sampling(idata, future.index(headline) if headline else None, self.spec.thresholds)
        fps, combined = fingerprints(self, design.as_of, config, seed)
        versions = package_versions()
        idata.attrs.update({"question": self.spec.id, "as_of": design.as_of.isoformat(), "seed": seed, "fingerprint": combined, **{f"fingerprint_{k}": v for k, v in fps.items()}})
        return FitResult(
            spec=self.spec,
            design=design,
            idata=idata,
            horizons=future,
            headline=headline,
            diagnostics=diag,
            seed=seed,
            n_paths=config.future_paths,
            fingerprints={**fps, "combined": combined},
            versions=versions,
            sampling_seconds=seconds,
        )

    def _repr_html_(self) -> str:
        from forecast.inference.display import question_html

        return question_html(self)


def load(question_id: str, root: str | Path | None = None) -> Question:
    """Load a question from ``models/`` with evidence from ``evidence/``.

    Parameters
    ----------
    question_id : str
        The file name of the spec in ``models/`` without ``.yaml``.
    root : path, optional
        The project folder; default ``$FORECAST_HOME``, else the nearest parent of the working
        directory that holds ``models/indicators.yaml``.

    Raises
    ------
    forecast.InputError
        Any file is invalid; ``.problems`` names file, line and field of each problem.
    """
    return Question.from_inputs(Project.find(root).load(question_id))
