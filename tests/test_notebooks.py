"""The notebooks in ``notebooks/``: committed without outputs, and every one runs without error.

Notebooks are executed with nbclient in a Jupyter kernel running *this* interpreter (the uv venv),
from ``notebooks/`` as the working directory, each once per session.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
QUICKSTART = NB_DIR / "01-quickstart.ipynb"
FALLBACK_KERNEL = "forecast-venv"


def _runs_this_python(argv: list[str]) -> bool:
    """Whether a kernelspec's command starts this interpreter.

    jupyter_client replaces a bare ``python``/``python3``/``python3.X`` with ``sys.executable``.
    """
    exe = argv[0] if argv else ""
    major, minor = sys.version_info[:2]
    if exe in {"python", f"python{major}", f"python{major}.{minor}"}:
        return True
    try:
        return Path(exe).resolve() == Path(sys.executable).resolve()
    except OSError:
        return False


@pytest.fixture(scope="session")
def kernel_name() -> str:
    """``python3`` if it runs this interpreter (the kernelspec ipykernel ships in the venv does),
    else a kernelspec installed into the venv (``sys.prefix``) that does."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    ksm = KernelSpecManager()
    try:
        if _runs_this_python(ksm.get_kernel_spec("python3").argv):
            return "python3"
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    install(kernel_spec_manager=ksm, prefix=sys.prefix, kernel_name=FALLBACK_KERNEL, display_name="forecast (uv venv)")
    spec = KernelSpecManager().get_kernel_spec(FALLBACK_KERNEL)
    assert _runs_this_python(spec.argv), f"kernelspec {FALLBACK_KERNEL} runs {spec.argv[0]}, not {sys.executable}"
    return FALLBACK_KERNEL


@pytest.fixture(scope="session")
def execute(kernel_name):
    """``execute(path)``: the notebook at ``path`` executed (in memory; the file is not written)."""
    done: dict[Path, object] = {}

    def run(path: Path):
        if path not in done:
            nb = nbformat.read(path, as_version=4)
            client = nbclient.NotebookClient(nb, timeout=600, kernel_name=kernel_name, resources={"metadata": {"path": str(NB_DIR)}})
            client.execute()  # raises CellExecutionError on the first failing cell
            done[path] = nb
        return done[path]

    return run


def _cell(nb, source: str):
    """The code cell whose source is ``source`` (stripped) or, failing that, contains it."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    for match in (lambda c: c.source.strip() == source, lambda c: source in c.source):
        hits = [c for c in code if match(c)]
        if hits:
            return hits[0]
    raise AssertionError(f"no code cell with {source!r}")


def _text(cell) -> str:
    """All text a cell printed or returned (streams, text/plain and text/html results)."""
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts += [out.data.get("text/plain", ""), out.data.get("text/html", "")]
    return "\n".join(parts)


def test_notebooks_exist():
    assert QUICKSTART in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    """Notebooks are committed clean: no outputs, no execution counts (read as raw JSON)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    dirty = [
        i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and (c.get("outputs") != [] or c.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: code cells {dirty} have outputs or execution counts; clear them before committing"
    # nbformat 4.5 cell ids (a cell without one is a validation warning today, an error in later nbformat)
    no_id = [i for i, c in enumerate(nb["cells"]) if not c.get("id")]
    assert not no_id, f"{path.name}: cells {no_id} have no id; run nbformat's normalize() before committing"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, execute):
    nb = execute(path)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: {errors[0].ename}: {errors[0].evalue}"


@pytest.mark.slow
def test_quickstart_outputs(execute):
    nb = execute(QUICKSTART)
    headline = _text(_cell(nb, "print(result.headline_sentence())"))
    assert "P(Belarusian forces enter the war by 2025-12-31) =" in headline
    assert "ICD 203" in headline
    # the tour opens on a fit whose numbers can be reported: diagnostics pass
    assert "FLAGGED" not in headline
    assert _text(_cell(nb, "print(result.diagnostics.line())")).startswith("diagnostics OK")
    rolling = _text(_cell(nb, "print(result.rolling_sentence())"))
    assert "P(Belarusian forces enter the war within 12 months, by 2025-09-30) =" in rolling and "FLAGGED" not in rolling
    assert "2025-12-31" in _text(_cell(nb, "result.summary()"))
    plot = _cell(nb, "result.curve()")
    assert any("image/png" in o.get("data", {}) for o in plot.outputs), "the curve cell shows no plot"


def _notebook(name: str) -> Path:
    return NB_DIR / name


@pytest.mark.slow
def test_evidence_updates_grades_order_the_moves(execute):
    """03: the same illustrative report moves the headline most as A1, less as C3, hardly as F6."""
    import ast

    nb = execute(_notebook("03-evidence-updates.ipynb"))
    printed = _text(_cell(nb, "moves_by_grade")).strip().splitlines()
    mc_error, moves = ast.literal_eval(printed[-2]), ast.literal_eval(printed[-1])
    assert moves["A1"] > moves["C3"] > moves["F6"], moves
    # points; an F6 report (weight 0.0025) moves nothing beyond Monte Carlo error: under a point,
    # or within 3 Monte Carlo SEs of the two small fits where those are larger
    assert moves["A1"] > 2 and abs(moves["F6"]) < max(1.0, 3 * mc_error["F6"]), (moves, mc_error)
    replayed = _text(_cell(nb, "trajectory[["))
    assert "2024-09-30" in replayed and "nuts" in replayed


@pytest.mark.slow
def test_new_question_validates_and_fits(execute):
    nb = execute(_notebook("05-a-new-question.ipynb"))
    assert _text(_cell(nb, "[str(p) for p in forecast.validate(root)]")).strip() == "[]"
    assert "P(Arvalia calls a snap election by 2025-06-30) =" in _text(_cell(nb, "print(result.headline_sentence())"))


@pytest.mark.slow
def test_priors_notebook_elicits_the_stated_interval(execute):
    """02: the elicited Beta puts the stated 90% of its mass in the analysts' interval."""
    nb = execute(_notebook("02-priors-from-the-article.ipynb"))
    assert "mass in [0.01, 0.12]: 0.900" in _text(_cell(nb, "beta = pz.Beta("))
    assert "prior-dominated" in _text(_cell(nb, "sensitivity, = forecast.check("))


@pytest.mark.slow
def test_briefing_notebook_writes_the_brief(execute):
    nb = execute(_notebook("04-briefing.ipynb"))
    listing = _text(_cell(nb, "pack = forecast.brief("))
    assert "'brief.html'" in listing and "'brief.pdf'" in listing
    figures = [c for c in nb.cells if c.cell_type == "code" and "forecast.plots." in c.source.strip().splitlines()[-1]]
    assert len(figures) == 7
    shown = [any("image/png" in o.get("data", {}) for o in c.outputs) for c in figures]
    assert all(shown), [c.source.strip().splitlines()[-1] for c, ok in zip(figures, shown) if not ok]


@pytest.mark.slow
def test_03_posture_report_raises_the_near_term_hazard(execute):
    """03: one A1 report of a strong rise in Belarusian force posture multiplies the near-term hazard.

    The effect prior on entry (hazard ratio 1.35-4 per +1) and an A1 change believed to about 80%
    put the ratio near 1.5-3; below 1.3 the report would not be doing what its grade says.
    """
    import ast

    nb = execute(_notebook("03-evidence-updates.ipynb"))
    ratios = ast.literal_eval(_text(_cell(nb, "posture_effect = ")).strip().splitlines()[-1])
    assert set(ratios) == {"P(entry within 3 months)", "monthly hazard now"}
    assert all(1.3 < r < 10 for r in ratios.values()), ratios
