"""The option table (torchfit.options), the estimator registry and the stage
objects: every option is accepted where the table says, misplaced and unknown
options are named from the table, and every estimator follows the protocol."""
import inspect

import pytest

import torchfit
from torchfit import bridge, options
from torchfit.api import fit, resolve_options
from torchfit.data.stats import SampleStats
from torchfit.estimate.record import Estimate
from torchfit.estimators.protocol import Estimator
from torchfit.estimators.registry import REGISTRY, select
from torchfit.iwave.fit import DEFAULTS, IWAVE_OPTIONS
from torchfit.model.spec import Spec
from torchfit.results.assemble import assemble


def test_fit_arguments_are_the_tables_fit_rows():
    named = [p for p in inspect.signature(fit).parameters if p not in ("model", "data",
                                                                        "options")]
    assert sorted(named) == sorted(options.names(role="fit"))


def test_every_estimator_option_is_accepted_and_others_refused():
    for est in options.ESTIMATORS:
        own = options.own_names(est)
        options.check_extra(est, own)  # accepted
        others = [n for n in options.names() if n not in own and options.BY_NAME[n].role != "fit"]
        for name in others:
            with pytest.raises(TypeError, match=f"{name} are for estimator .*not '{est}'"):
                options.check_extra(est, [name])


def test_unknown_option_lists_every_option_of_the_estimator():
    with pytest.raises(TypeError, match="unknown option.*nope for estimator 'MLR'; known: ") as e:
        resolve_options("MLR", None, nope=1)
    known = str(e.value).split("known: ")[1].split(", ")
    assert {"missing", "group", "std_lv", "bootstrap", "batch_size"} <= set(known)
    assert "hidden" not in known  # IWAVE's
    with pytest.raises(TypeError, match="did you mean missing"):
        resolve_options("ML", None, mising="ml")


def test_iwave_defaults_cover_its_options():
    assert list(DEFAULTS) == list(IWAVE_OPTIONS)


def test_bridge_reads_the_table():
    assert set(bridge.ENGINE_OPTIONS) == set(options.names()) - set(bridge.R_OWNS)
    assert "iter_max" in bridge.INTEGER_OPTIONS and "lr" not in bridge.INTEGER_OPTIONS
    table = bridge.options()
    assert table["lavaan"][table["name"].index("fixed_x")] == "fixed.x"
    assert table["r"][table["name"].index("iw_samples")] == "iw.samples"


def test_r_options_are_checked_against_the_table_in_r_spelling():
    # the estimator's own options, by lavaan's name, the dotted name or the engine's
    assert bridge.check_r_options("IWAVE", False, ["iw.samples", "item_types", "se"]) is None
    # lavaan's default with ordered items is WLSMV, whose option parameterization is
    assert bridge.check_r_options("DEFAULT", True, ["parameterization"]) is None
    assert bridge.check_r_options("DEFAULT", False, ["parameterization"]) == \
        options.extra_message("ML", ["parameterization"])
    # fit()'s named arguments are fit()'s to check (with their values)
    assert bridge.check_r_options("IWAVE", False, ["iter.max", "std.ov"]) is None
    assert bridge.check_r_options("ML", False, ["max.iterations"]) == \
        "option(s) max.iterations are for estimator 'IWAVE', not 'ML'"
    message = bridge.check_r_options("MLR", False, ["n_intervalls"], ["std.lv"])
    assert message.startswith("unknown option(s) n_intervalls for estimator 'MLR'; known: ")
    assert "columns" not in message and "batch.size" in message and "iter.max" in message
    assert message.endswith("did you mean n.intervals?")
    with pytest.raises(torchfit.errors.TorchfitError, match="'PML' is not available"):
        bridge.check_r_options("PML", False, ["x"])


@pytest.mark.parametrize("kwargs, name", [
    ({}, "ML"), ({"estimator": "MLM"}, "ML"), ({"missing": "fiml"}, "FIML"),
    ({"batch_size": 64}, "mini-batch ML"), ({"estimator": "IWAVE"}, "IWAVE")])
def test_registry_selects(kwargs, name):
    estimator = kwargs.pop("estimator", "ML")
    hs = torchfit.datasets.holzinger_swineford()
    assert select(resolve_options(estimator, hs, **kwargs)).name == name


def test_every_registered_estimator_follows_the_protocol():
    assert all(isinstance(e, Estimator) for e in REGISTRY)
    assert len({e.name for e in REGISTRY}) == len(REGISTRY)


def test_stage_objects_of_an_ml_fit():
    hs = torchfit.datasets.holzinger_swineford()
    opts = resolve_options("MLR", hs, model_type="cfa")
    method = select(opts)
    spec = method.spec("f =~ x1 + x2 + x3", hs, opts)
    stats = method.sample_stats(spec, hs, opts)
    estimate = method.estimate(spec, stats, opts)
    assert isinstance(spec, Spec) and isinstance(stats, SampleStats)
    assert isinstance(estimate, Estimate) and estimate.tests is not None
    assert stats.n == 301 and len(stats.gammas) == 1
    out = assemble(spec, stats, estimate, opts)
    ref = torchfit.cfa("f =~ x1 + x2 + x3", hs, estimator="MLR")
    assert out.vcov().equals(ref.vcov())
    assert out.fit_measures()["chisq.scaled"] == ref.fit_measures()["chisq.scaled"]
