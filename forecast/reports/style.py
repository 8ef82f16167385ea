"""One look for every briefing figure: greyscale-safe, titled, with a source line.

Every figure of the brief is read on a slide, in a PDF printed on an office laser printer and in a
browser. Colour therefore carries nothing that is not also carried by lightness, line style,
marker shape or hatching: series are told apart by black / dark grey / mid grey lines with solid,
dashed, dotted and dash-dot styles and distinct markers, and uncertainty bands are two fixed
greys (90% lighter than 50%). The only colour is the red of a diagnostics warning, which is also
bold, boxed and worded.

Every figure carries

* a **title** naming the question and the as-of date of the forecast it shows
  (:func:`title_figure`), and
* a **source line** at the bottom (:func:`source_line`): the model, the run, the seed and the
  fingerprints of the spec, evidence, code and sampler settings, so a figure pasted into a slide
  can be traced back to the ledger row and the files that made it.
"""

from __future__ import annotations

import datetime as dt
import functools
from contextlib import contextmanager
from dataclasses import dataclass, field

import matplotlib
from matplotlib.figure import Figure

MODEL_NAME = "discrete-time hazard (cloglog), random-walk indicators"

INK = "0.0"
DARK = "0.25"
MID = "0.5"
LIGHT = "0.75"
BAND_50 = "0.62"  # 50% interval: darker than the 90% band so nested bands read in greyscale
BAND_90 = "0.85"
WARNING_RED = "#b00000"

# (colour, line style, marker) of the n-th series of a figure: distinct without colour
SERIES = [
    (INK, "-", "o"),
    (DARK, "--", "s"),
    (MID, ":", "^"),
    (DARK, "-.", "D"),
    (MID, (0, (5, 1, 1, 1, 1, 1)), "v"),
    (INK, (0, (1, 1)), "P"),
    (MID, (0, (8, 2)), "X"),
]

# marker of an evidence item by the reliability letter of its Admiralty grade (A best ... F worst)
GRADE_MARKERS = {"A": "^", "B": "o", "C": "s", "D": "D", "E": "v", "F": "x"}


def grade_marker(letter: str) -> dict:
    """Marker keyword arguments for an item of reliability ``letter``: the shape says which letter,
    the fill says usually reliable (A-C, filled) or not (D-F, hollow)."""
    return {"marker": GRADE_MARKERS[letter], "mfc": DARK if letter in "ABC" else "white", "mec": INK, "mew": 0.7}

RC = {
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.labelsize": 8.5,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7.5,
    "axes.edgecolor": INK,
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "0.88",
    "grid.linewidth": 0.6,
    "axes.prop_cycle": matplotlib.cycler(color=[s[0] for s in SERIES], linestyle=[s[1] for s in SERIES]),
    "lines.linewidth": 1.6,
    "legend.frameon": False,
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": None,  # keep the page size exact (the brief's PDF is an A4 or Letter page)
    "pdf.fonttype": 42,  # TrueType in the PDF: text stays text (searchable, extractable)
    "svg.fonttype": "path",  # SVG renders the same without the fonts installed
    "svg.hashsalt": "forecast",  # stable element ids: the same figure gives the same SVG
}


@contextmanager
def figure_style():
    """Apply the briefing style inside a ``with`` block (the caller's rcParams are restored).

    Matplotlib reads some settings when an artist is created (sizes, line styles) and others when
    the figure is saved (font embedding), so both drawing and saving happen inside this block.
    """
    with matplotlib.rc_context(RC):
        yield


def styled(plot_function):
    """Decorator: run a plotting function inside :func:`figure_style`."""

    @functools.wraps(plot_function)
    def wrapper(*args, **kwargs):
        with figure_style():
            return plot_function(*args, **kwargs)

    return wrapper


def new_figure(width: float, height: float, **kwargs) -> Figure:
    """A figure with the briefing style.

    A bare :class:`~matplotlib.figure.Figure`, not a pyplot one: nothing is registered globally, so a
    brief that draws dozens of figures leaks none, and no GUI backend is needed on a server.
    """
    return BriefFigure(figsize=(width, height), **kwargs)


class BriefFigure(Figure):
    """A bare matplotlib Figure that shows itself in Jupyter (as PNG) without pyplot."""

    def _repr_png_(self) -> bytes:
        import io

        from matplotlib.backends.backend_agg import FigureCanvasAgg

        if self.canvas is None or not isinstance(self.canvas, FigureCanvasAgg):
            FigureCanvasAgg(self)
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100)
        return buf.getvalue()


@dataclass(frozen=True)
class Provenance:
    """What a figure says about where it came from (title and source line)."""

    question_id: str
    question: str
    event: str
    as_of: dt.date
    fingerprints: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    run_id: int | None = None
    seed: int | None = None
    diagnostics_passed: bool = True

    @classmethod
    def of(cls, result, run_id: int | None = None) -> "Provenance":
        """The provenance of a :class:`~forecast.inference.result.FitResult` (and its ledger run, if known)."""
        return cls(
            question_id=result.spec.id,
            question=result.spec.question,
            event=result.spec.event,
            as_of=result.as_of,
            fingerprints=dict(result.fingerprints or {}),
            versions=dict(result.versions or {}),
            run_id=run_id,
            seed=result.seed,
            diagnostics_passed=result.passed,
        )

    def source_text(self) -> str:
        """The source line under a figure: package version, model, run, fingerprints."""
        fp = self.fingerprints
        parts = [f"forecast {self.versions.get('forecast', '')}".strip(), f"model: {MODEL_NAME}"]
        if self.run_id is not None:
            parts.append(f"run {self.run_id}")
        if self.seed is not None:
            parts.append(f"seed {self.seed}")
        keys = [k for k in ("spec", "evidence", "code", "sampler") if fp.get(k)]
        if keys:
            parts.append("fingerprints " + " ".join(f"{k} {str(fp[k])[:8]}" for k in keys))
        return " | ".join(parts)


LINE_INCHES = 0.19  # height of one 10-point title line


def title_figure(fig: Figure, prov: Provenance, what: str) -> float:
    """Title block: the question (wrapped to the figure width), then what the figure shows and the
    as-of date (plus a warning when the fit's diagnostics are flagged).

    Returns the height of the block in inches (for :func:`layout`).
    """
    h, w = fig.get_figheight(), fig.get_figwidth()
    question = wrap_text(prov.question, w - 0.2, 10, bold=True)
    n_lines = question.count("\n") + 1
    # question and spec texts come from files: no mathtext ("$" stays a dollar sign)
    fig.suptitle(question, x=0.01, ha="left", y=1 - 0.08 / h, va="top", fontsize=10, fontweight="bold", parse_math=False)
    subtitle = f"{what} - as of {prov.as_of.isoformat()}"
    flagged = not prov.diagnostics_passed
    if flagged:
        subtitle += " [DIAGNOSTICS FLAGGED: read with caution]"
    subtitle = wrap_text(subtitle, w - 0.2, 8.5, bold=flagged)
    fig.text(0.01, 1 - (0.1 + LINE_INCHES * n_lines) / h, subtitle, ha="left", va="top", fontsize=8.5, parse_math=False,
             color=WARNING_RED if flagged else DARK, fontweight="bold" if flagged else "normal")
    return 0.1 + LINE_INCHES * (n_lines + subtitle.count("\n") + 1)


@functools.lru_cache(maxsize=4096)
def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width in inches of ``text`` set in the briefing font at ``size`` points (never as mathtext)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    prop = FontProperties(family=RC["font.family"], size=size, weight="bold" if bold else "normal")
    width, _, _ = TextToPath().get_text_width_height_descent(text, prop, ismath=False)
    return width / 72.0


def wrap_text(text: str, width_inches: float, size: float, bold: bool = False) -> str:
    """Greedy word wrap of ``text`` to lines no wider than ``width_inches`` (measured, not estimated)."""
    lines: list[str] = []
    for paragraph in str(text).split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            # 4% slack: rendered glyphs at low dpi (hinting) run a little wider than the outlines
            if line and text_width(candidate, size, bold) > 0.96 * width_inches:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return "\n".join(lines)


def shorten_to_width(text: str, width_inches: float, size: float, bold: bool = False, placeholder: str = "...") -> str:
    """``text`` on one line, cut at a word boundary (with ``placeholder``) to fit ``width_inches``."""
    text = " ".join(str(text).split())
    width_inches *= 0.96  # the same slack as wrap_text
    if text_width(text, size, bold) <= width_inches:
        return text
    words = text.split(" ")
    while len(words) > 1:
        words.pop()
        candidate = " ".join(words) + placeholder
        if text_width(candidate, size, bold) <= width_inches:
            return candidate
    cut = words[0]
    while cut and text_width(cut + placeholder, size, bold) > width_inches:
        cut = cut[:-1]
    return cut + placeholder


def source_line(fig: Figure, prov: Provenance, fontsize: float = 6.0) -> None:
    """The source line at the bottom left of ``fig`` (model, run, seed, fingerprints), wrapped to the
    figure width (layouts leave 0.45 in for it: two lines)."""
    text = wrap_text("Source: " + prov.source_text(), fig.get_figwidth() - 0.2, fontsize)
    fig.text(0.01, 0.06 / fig.get_figheight(), text, ha="left", va="bottom", fontsize=fontsize, color=DARK, parse_math=False)


def layout(fig: Figure, top_inches: float = 0.75, bottom_inches: float = 0.45, left: float = 0.09, right: float = 0.98, **kwargs) -> None:
    """Leave room for the title block and the source line (in inches, so any figure size works)."""
    h = fig.get_figheight()
    fig.subplots_adjust(top=1 - top_inches / h, bottom=bottom_inches / h, left=left, right=right, **kwargs)


class PercentTicks:
    """Marker base for the probability-axis formatter (see :func:`percent_axis`)."""


def _percent_formatter():
    from matplotlib.ticker import PercentFormatter

    class TickPercentFormatter(PercentFormatter, PercentTicks):
        """matplotlib's ``PercentFormatter`` with as many decimals as the ticks need to be printed
        exactly (0.05 -> "5%", 0.025 -> "2.5%", 0.005 -> "0.5%"): a label is its tick's value, never
        a rounding of it."""

        def __init__(self):
            super().__init__(xmax=1.0, decimals=0)

        def set_locs(self, locs):
            super().set_locs(locs)
            values = [100 * float(v) for v in locs]
            for decimals in range(0, 5):
                if all(abs(round(v, decimals) - v) < 1e-9 for v in values):
                    break
            self.decimals = decimals

    return TickPercentFormatter()


def percent_axis(ax, axis: str = "y") -> None:
    """Probability axis labelled in percent: ticks at 1, 2 or 5 times a power of ten
    (``MaxNLocator(steps=[1, 2, 5, 10])``, never the 2.5% steps matplotlib's default picks), each
    labelled with its exact value."""
    from matplotlib.ticker import MaxNLocator

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 5, 10], min_n_ticks=3))
    target.set_major_formatter(_percent_formatter())


def shade_icd203(ax, top: float, label: bool = True) -> None:
    """ICD 203 bands as alternating light shading on the y axis (0..``top``), each named at the right."""
    from forecast.core import icd203

    lower = 0.0
    for i, (upper, name, _alt) in enumerate(icd203.BANDS):
        upper = min(upper, 1.0)
        if lower >= top:
            break
        hi = min(upper, top)
        ax.axhspan(lower, hi, color="0.95" if i % 2 == 0 else "white", zorder=0, lw=0)
        if i > 0:
            ax.axhline(lower, color=LIGHT, lw=0.6, ls=(0, (2, 2)), zorder=0.5)
        if label and (hi - lower) / top > 0.06:
            ax.text(1.005, (lower + hi) / 2, name, transform=ax.get_yaxis_transform(), ha="left", va="center", fontsize=6.5, color=DARK, clip_on=False)
        lower = upper


def icd203_top(values) -> float:
    """A y-axis top for probabilities: just above the largest value, at a readable round number."""
    import numpy as np

    vmax = float(np.nanmax(np.asarray(values, dtype=float))) if len(values) else 0.1
    for top in (0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0):
        if vmax * 1.1 <= top:
            return top
    return 1.0


def save(fig: Figure, path_stem, formats=("png", "svg")) -> dict[str, str]:
    """Write ``fig`` as ``<stem>.png`` and ``<stem>.svg`` atomically; returns format -> path."""
    from pathlib import Path

    from forecast.core.atomic import atomic_write

    out = {}
    for fmt in formats:
        path = Path(f"{path_stem}.{fmt}")
        with figure_style():
            atomic_write(path, lambda p, fmt=fmt: fig.savefig(p, format=fmt, metadata=_metadata(fmt)))
        out[fmt] = str(path)
    return out


def _metadata(fmt: str) -> dict:
    # no creation dates: the same figure gives the same bytes (reviewable diffs, stable artefacts)
    if fmt == "png":
        return {"Software": "forecast"}
    if fmt == "svg":
        return {"Date": None, "Creator": "forecast"}
    if fmt == "pdf":
        return {"CreationDate": None, "Creator": "forecast", "Producer": "forecast (matplotlib)"}
    return {}
