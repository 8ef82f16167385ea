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
        """The same inputs as a Question that can be fitted.

        Parameters
        ----------
        inputs : QuestionInputs
            Spec, indicator library and evidence, validated.

        Returns
        -------
        Question
        """
        return cls(**{f.name: getattr(inputs, f.name) for f in fields(QuestionInputs)})

    def design(self, as_of=None):
        """The person-period data of the question as of ``as_of`` (default today).

        Parameters
        ----------
        as_of : datetime.date or str, optional

        Returns
        -------
        forecast.model.design.Design

        Raises
        ------
        ValueError
            ``as_of`` is before the risk window start (or the risk window before the library's
            reference date); ``as_of`` is after today (see :meth:`check_as_of`).
        """
        from forecast.model.design import make_design

        as_of = self.check_as_of(as_of, horizons=False)
        return make_design(self.spec, self.library, self.evidence, as_of, sources=self.sources)

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
        """Fit the question as of a date: NUTS, diagnostics, forecast.

        Parameters
        ----------
        as_of : datetime.date or str, optional
            Default today. Only evidence published on or before it enters, and survival counts
            up to it.
        seed : int
            Same files and seed give the same numbers, bit for bit.
        draws : int, optional
            Kept NUTS draws per chain (default the spec's ``sampler.draws``, 1500).
        tune : int, optional
            Tuning steps per chain (default ``sampler.tune``, 1000).
        chains : int, optional
            Number of chains (default ``sampler.chains``, 4).
        cores : int, optional
            Processes the chains run in (default ``min(chains, CPU count)``).
        future_paths : int, optional
            Simulated future indicator paths per draw for P(event by date) (default
            ``sampler.future_paths``, 200).
        progressbar : bool, optional
            PyMC's progress bar; default on in a notebook, off in scripts and scheduled jobs.

        Returns
        -------
        forecast.inference.result.FitResult
            Headline, horizon table, curve, diagnostics, provenance; ``.idata`` holds the
            posterior tree with its ``log_likelihood`` group.

        Raises
        ------
        ValueError
            ``as_of`` is before the risk window start.
        """
        from forecast.inference.diagnostics import check_sampling
        from forecast.inference.fingerprint import fingerprints, package_versions
        from forecast.inference.result import FitResult, annotate, headline_horizon
        from forecast.inference.sampling import fit_design
        from forecast.inputs.settings import SampleConfig

        design = self.design(self.check_as_of(as_of))  # a horizon after as-of, or the fix to make
        config = SampleConfig.from_settings(self.spec.sampler, draws=draws, tune=tune, chains=chains, cores=cores, future_paths=future_paths)
        if progressbar is None:  # a progress bar in a notebook, quiet in scripts and scheduled jobs
            from forecast.core.progress import interactive

            progressbar = interactive()
        idata, seconds, table = fit_design(design, self.spec.horizons, config, seed, progressbar=progressbar,
                                           lead_months=self.spec.headline_lead_months)
        future = [h for h in self.spec.horizons if h > design.as_of]
        headline = headline_horizon(self.spec, future, design.as_of)
        diagnostics = check_sampling(idata, future.index(headline) if headline else None, self.spec.thresholds, table=table)
        fps, combined = fingerprints(self, design.as_of, config, seed)
        annotate(idata, spec=self.spec, design=design, config=config.to_dict(), seed=seed, n_paths=config.future_paths,
                 fingerprints={**fps, "combined": combined}, versions=package_versions(), diagnostics=diagnostics,
                 headline=headline, seconds=seconds)
        return FitResult.from_tree(idata)

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

    Returns
    -------
    Question

    Raises
    ------
    forecast.InputError
        Any file is invalid; ``.problems`` names file, line and field of each problem.
    """
    return Question.from_inputs(Project.find(root).load(question_id))
