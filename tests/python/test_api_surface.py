"""What a Python user meets first: signatures and help(), Jupyter display,
the lazy plots module, the import cost, the license and type marker shipped."""
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import torchfit

ROOT = Path(__file__).resolve().parents[2]
FIT_OPTIONS = [p for p in inspect.signature(torchfit.fit).parameters
               if p not in ("model", "data", "model_type", "options")]


@pytest.mark.parametrize("name", ["sem", "cfa", "growth"])
def test_front_ends_list_and_document_fit_options(name):
    function = getattr(torchfit, name)
    params = inspect.signature(function).parameters
    assert [p for p in params if p not in ("model", "data", "options")] == FIT_OPTIONS
    for option in FIT_OPTIONS:
        assert params[option].default == inspect.signature(torchfit.fit).parameters[option].default
        assert f"\n    {option} :" in function.__doc__, option
    assert function.__name__ == name and "model_type :" not in function.__doc__


def test_front_end_passes_options_on(hs):
    fit = torchfit.cfa("visual =~ x1 + x2 + x3", hs, std_lv=True, estimator="MLR")
    assert fit.info["se"] == "robust.huber.white"
    assert (fit.partable.query("op == '~~' and lhs == 'visual'")["est"] == 1.0).all()
    with pytest.raises(TypeError, match="iw_samples are for estimator 'IWAVE'"):
        torchfit.cfa("visual =~ x1 + x2 + x3", hs, iw_samples=5)


def test_efa_lists_rotation_options():
    params = inspect.signature(torchfit.efa).parameters
    for option in ("orthogonal", "normalize", "random_starts", "rotation_seed", "epsilon",
                   "gamma", "kappa", "sort"):
        assert option in params and f"\n    {option} :" in torchfit.efa.__doc__, option


def test_summary_is_text_with_html(hs):
    fit = torchfit.cfa("visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6", hs)
    summary = fit.summary(fit_measures=True)
    assert isinstance(summary, str) and repr(summary) == str(summary)
    assert str(summary).startswith("torchfit") and "Model Test User Model:" in summary
    page = summary._repr_html_()
    assert page.startswith("<pre>torchfit") and page.count("<table") == 3  # loadings, cov, var
    assert "<h4>Latent Variables</h4>" in page and "NaN" not in page
    assert fit._repr_html_().count("<table") == 3


def test_summary_html_per_group(hs):
    fit = torchfit.cfa("visual =~ x1 + x2 + x3", hs, group="school", group_equal="loadings")
    page = fit._repr_html_()
    assert "<h4>Group Pasteur</h4>" in page and "<h4>Group Grant-White</h4>" in page
    assert "<h4>Constraints</h4>" in page


def _fresh(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(ROOT / "python"),
                                          "OMP_NUM_THREADS": "1", "PATH": ""})
    return out.stdout.strip()


def test_import_leaves_scipy_stats_and_matplotlib_alone():
    loaded = _fresh("import sys, torchfit; print(sorted(m for m in "
                    "('scipy.stats', 'matplotlib', 'torchfit.results.plots') if m in sys.modules))")
    assert loaded == "[]"


def test_plots_is_an_attribute():
    out = _fresh("import sys, torchfit; f = torchfit.plots.loadings_heatmap; "
                 "print(callable(f), 'matplotlib' in sys.modules)")
    assert out == "True False"
    with pytest.raises(AttributeError, match="no attribute 'plotz'"):
        torchfit.plotz


def test_license_and_type_marker():
    assert (ROOT / "LICENSE").read_text().splitlines()[0].startswith("YEAR:")  # R's stub
    text = (ROOT / "LICENSE.md").read_text()
    assert "Permission is hereby granted, free of charge" in text
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'license-files = ["LICENSE.md"]' in pyproject and '"py.typed"' in pyproject
    assert (ROOT / "python" / "torchfit" / "py.typed").exists()
    assert "^LICENSE\\.md$" in (ROOT / ".Rbuildignore").read_text()
