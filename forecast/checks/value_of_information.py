r"""What to watch next: the expected value of one more observation of each indicator.

For indicator :math:`k`, imagine one more A2-graded report of its level next month (the month after
the as-of date). Before it arrives its value is uncertain; *preposterior* simulation asks how much it
would move the headline :math:`P` = P(event by the headline horizon | no event by as-of), on average:

.. math::

    \text{VOI}_k = \mathbb E_{y \sim p(y \mid \text{data})}\,
        \big|\,\mathbb E[P \mid \text{data}, y] - \mathbb E[P \mid \text{data}]\,\big|.

With posterior draws :math:`s`, each draw's indicators step once more as the random walk does,
:math:`x'_s = x_{s,T-1} + \sigma_s z_s`, and :math:`P_s` is the headline of that draw *given* next
month's levels (the rest of the as-of month at the fitted rate, next month at the rate of
:math:`x'_s`, the random walk afterwards; :func:`forecast.model.prediction.prob_by`), so that
:math:`\frac1S\sum_s P_s` is the current headline. A simulated report is
:math:`y = x'_{j,k} + \tau_{A2}\,\varepsilon` for a random draw :math:`j`; the headline after it is
:math:`\sum_s w_s P_s` with weights :math:`w_s \propto \mathcal N(y \mid x'_{s,k}, \tau_{A2})`, the model's own
evidence likelihood of that report (:func:`forecast.inference.sampling.evidence_log_likelihood`),
Pareto-smoothed (:func:`forecast.inference.importance.psis`), no refitting. The indicators are ranked by :math:`\text{VOI}_k`, in probability
points. Warns when the top indicator's weights are unreliable (median Pareto :math:`\hat k > 0.7`);
never fails.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.checks.base import CheckResult, add_figure, worst
from forecast.inputs.evidence import CHANGE_WINDOW_MONTHS
from forecast.model.prediction import prob_by
from forecast.model.simulate import Draws

NAME = "value-of-information"
STREAM = 505
GRADE = "A2"
K_MAX = 0.7


def headline_given_next_month(design, draws: Draws, u_headline: float, z: np.ndarray, n_paths: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(S,) headline per draw given next month's indicator levels, and (S, K) those levels.

    ``z`` (S, K) are the standard-normal steps of the indicators from the as-of month to the next.
    """
    t_next = design.n_months  # the month after the one holding the as-of date
    level_next = draws.level[:, :, -1] + draws.volatility * z
    eta_now = draws.log_rate[:, -1]
    eta_next = eta_now + (draws.effect * draws.volatility * z).sum(axis=1)
    rest_of_month = min(u_headline, t_next) - design.u_as_of
    survive_now = np.exp(-rest_of_month * np.exp(np.minimum(eta_now, 30.0)))
    if u_headline <= t_next:
        later = np.zeros(draws.size)
    else:
        # one set of paths for every draw: the move is a weighted difference over draws, in which
        # common paths cancel (paths per draw would add their noise to every predicted move)
        later = prob_by(eta_next, draws.log_rate_step_sd, float(t_next), t_next, np.array([u_headline]), n_paths, seed,
                        streams=np.zeros(draws.size, dtype=np.int64))[:, 0]
    return 1.0 - survive_now * (1.0 - later), level_next


def expected_moves(design, draws: Draws, level_next: np.ndarray, k: int, p: np.ndarray, sd: float, sims: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Moves of the mean headline after one simulated report of indicator ``k`` next month.

    Parameters
    ----------
    design : Design
    draws : Draws
        The posterior draws (S of them).
    level_next : (S, K) array
        Next month's indicator levels per draw.
    k : int
        The indicator reported on.
    p : (S,) array
        The headline per draw given next month's levels.
    sd : float
        Observation SD of the report (standardized units).
    sims : int
        Simulated reports.
    rng : numpy.random.Generator

    Returns
    -------
    (moves, pareto_k)
        (sims,) weighted minus plain mean of ``p``, and (sims,) Pareto k-hat of each weight vector.
    """
    from forecast.inference.importance import psis
    from forecast.inference.sampling import evidence_log_likelihood

    source = rng.integers(0, draws.size, sims)
    y = level_next[source, k] + sd * rng.standard_normal(sims)
    month = design.n_months  # the month after the one holding the as-of date
    level = np.concatenate([draws.level, level_next[:, :, None]], axis=2)  # (S, K, T + 1)
    reports = {"evidence_indicator": np.full(sims, k), "evidence_month": np.full(sims, month), "evidence_base_month": np.full(sims, -1),
               "evidence_sd": np.full(sims, sd), "evidence_value": y}
    log_lik = evidence_log_likelihood(design, level, reports)  # (S, sims)
    weights = psis(log_lik.T[:, None, :])  # one weight vector per simulated report
    return weights.mean(p[None, :]) - p.mean(), np.asarray(weights.pareto_k, dtype=float).reshape(sims)


def item_move(design, draws: Draws, p: np.ndarray, indicator: str, value: float, grade: str, grading, change: bool = False) -> tuple[float, float]:
    """Predicted move of the mean headline after one hypothetical item in the as-of month, and its Pareto k.

    The item observes ``indicator``'s level (or, ``change=True``, its 3-month change) in the month
    holding the as-of date with the observation SD the design gives such an item
    (``grading.sd(grade, change)``). The posterior after the item is the current one reweighted by
    the item's likelihood (the model's own, :func:`forecast.inference.sampling.evidence_log_likelihood`;
    Pareto-smoothed, :func:`forecast.inference.importance.psis`), so this is what a refit that adds
    the item should find.

    Parameters
    ----------
    design : Design
    draws : Draws
        The posterior draws (S of them).
    p : (S,) array
        The headline per draw.
    indicator : str
        One of ``design.indicator_ids``.
    value : float
        The item's value (standardized units): a level, or with ``change`` a 3-month change.
    grade : str
        Admiralty grade (``"A2"``).
    grading : Grading
        Gives the observation SD of the grade.
    change : bool

    Returns
    -------
    (move, pareto_k)
        The predicted move of the mean headline (probability) and the Pareto k-hat of the weights.
    """
    from forecast.inference.importance import psis
    from forecast.inference.sampling import evidence_log_likelihood

    now = design.n_months - 1
    item = {"evidence_indicator": np.array([list(design.indicator_ids).index(indicator)]), "evidence_month": np.array([now]),
            "evidence_base_month": np.array([now - CHANGE_WINDOW_MONTHS if change else -1]),
            "evidence_sd": np.array([grading.sd(grade, change=change)]), "evidence_value": np.array([float(value)])}
    weights = psis(evidence_log_likelihood(design, draws.level, item)[:, 0])
    return float(weights.mean(np.asarray(p)[None, :]) - np.mean(p)), float(weights.pareto_k)


def run(ctx) -> CheckResult:
    """Rank the indicators by the value of one more A2 report of each next month."""
    d = ctx.design
    if not d.indicator_ids or ctx.headline is None or d.resolved_on is not None:
        why = "no indicators" if not d.indicator_ids else "no horizon after the as-of date" if ctx.headline is None else "the question is resolved"
        return CheckResult(NAME, "pass", pd.DataFrame(), f"Nothing to rank: {why}.")
    ctx.progress(NAME, 0, len(d.indicator_ids), "ranking indicators")
    idata = ctx.posterior()
    draws = Draws.from_posterior(idata["posterior"].to_dataset(), d)
    rng = np.random.default_rng([ctx.seed, STREAM])
    p, level_next = headline_given_next_month(d, draws, ctx.headline_u, rng.standard_normal(draws.effect_size.shape), ctx.sizes.n_paths, ctx.seed)
    sd = ctx.spec.grading.sd(GRADE)
    rows = []
    for k, ind in enumerate(d.indicator_ids):
        moves, khat = expected_moves(d, draws, level_next, k, p, sd, ctx.sizes.voi_sims, rng)
        rows.append({"indicator": ind, "name": ctx.indicator_name(ind), "expected_abs_change": float(np.abs(moves).mean()),
                     "move_q10": float(np.quantile(moves, 0.1)), "move_q90": float(np.quantile(moves, 0.9)),
                     "median_pareto_k": float(np.median(khat))})
        ctx.progress(NAME, k + 1, len(d.indicator_ids), ind)
    table = pd.DataFrame(rows).sort_values("expected_abs_change", ascending=False, ignore_index=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    top = table.iloc[0]
    status = worst("pass", "warn" if top.median_pareto_k > K_MAX else "pass")
    current = float(p.mean())
    text = (f"Watching for {top['name']} would move the forecast most: one more {GRADE} report of it next month would move "
            f"P({ctx.spec.event} by {ctx.headline}) (now {100 * current:.1f}%) by {100 * top.expected_abs_change:.2f} points on average "
            f"(80% of reports: {100 * top.move_q10:+.2f} to {100 * top.move_q90:+.2f}).")
    if len(table) > 1:
        text += " Then: " + ", ".join(f"{r['name']} ({100 * r.expected_abs_change:.2f})" for _, r in table.iloc[1:].iterrows()) + "."
    if status == "warn":
        text += " The top estimate rests on unreliable importance weights (Pareto k above 0.7): refit with more draws."
    figures, figure_errors = {}, []
    add_figure(figures, figure_errors, "what_to_watch", lambda: _bar_chart(table, ctx))
    metrics = {"headline_now": current, "grade": GRADE, "observation_sd": sd, "order": list(table["indicator"]), "sims": ctx.sizes.voi_sims,
               "figure_errors": figure_errors}
    return CheckResult(NAME, status, table, text, figures=figures, metrics=metrics)


def _bar_chart(table: pd.DataFrame, ctx):
    """Expected move of the headline per indicator (points), largest on top, with the 10-90% range of moves."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 0.5 * len(table) + 1.5))
    ax = fig.subplots()
    rows = table.iloc[::-1]
    y = np.arange(len(rows))
    ax.barh(y, 100 * rows["expected_abs_change"], color="0.35")
    ax.set_yticks(y, rows["name"])
    ax.set_xlabel(f"expected move of P(event by {ctx.headline}) after one {GRADE} report next month (points)")
    ax.set_title(f"{ctx.spec.id}: what to watch next")
    fig.tight_layout()
    return fig
