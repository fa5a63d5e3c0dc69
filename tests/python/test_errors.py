"""Bad input: every error names the problem and the fix, and the caller's
data are never modified."""
import numpy as np
import pandas as pd
import pytest

import torchfit
from torchfit.errors import ConvergenceWarning, DataError, ModelError, ModelSyntaxError

HS_MODEL = "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"


def test_missing_variable_is_named_with_close_names(hs):
    with pytest.raises(DataError) as err:
        torchfit.cfa("visual =~ x1 + x2 + X3", hs)
    msg = str(err.value)
    assert "'X3'" in msg and "did you mean 'x3'" in msg


def test_syntax_error_reaches_the_user_with_line_and_column(hs):
    with pytest.raises(ModelSyntaxError, match="line 2, column 17: expected a variable name"):
        torchfit.cfa("visual =~ x1 + x2 + x3\ntextual =~ x4 + + x5", hs)


def test_non_numeric_column_is_named(hs):
    with pytest.raises(DataError, match="column 'school' is not numeric"):
        torchfit.cfa("f =~ x1 + x2 + school", hs)


def test_missing_values_need_an_option_and_listwise_works(hs):
    data = hs.copy()
    data.loc[[3, 10, 42], "x5"] = np.nan
    with pytest.raises(DataError, match=r"3 of 301 rows .* missing = 'listwise'"):
        torchfit.cfa(HS_MODEL, data)
    fit = torchfit.cfa(HS_MODEL, data, missing="listwise")
    assert (fit.nobs, fit.info["nobs_total"]) == (298, 301)
    assert "Used       Total" in fit.summary()


def test_unknown_missing_option(hs):
    with pytest.raises(DataError, match="missing = 'pairwise' is not supported"):
        torchfit.cfa(HS_MODEL, hs, missing="pairwise")


def test_fewer_rows_than_variables(hs):
    with pytest.raises(DataError, match="5 complete rows for 9 observed variables"):
        torchfit.cfa(HS_MODEL, hs.head(5))


def test_linearly_dependent_variables_are_named(hs):
    data = hs.assign(x10=hs["x1"] + hs["x2"])
    with pytest.raises(DataError, match="not positive definite.*x1.*x2.*x10"):
        torchfit.cfa("f =~ x1 + x2 + x10 + x3", data)


def test_constant_variable_is_named(hs):
    with pytest.raises(DataError, match="x0 have no variance"):
        torchfit.cfa("f =~ x1 + x2 + x0", hs.assign(x0=1.0))


def test_more_parameters_than_moments():
    data = torchfit.datasets.holzinger_swineford()
    with pytest.raises(ModelError, match=r"5 free parameters .* 3 sample.*df = -2"):
        torchfit.cfa("f =~ x1 + x2; x1 ~~ x2", data)


def test_non_convergence_warns_and_flags(hs):
    with pytest.warns(ConvergenceWarning, match="did not converge in 2 iterations"):
        fit = torchfit.cfa(HS_MODEL, hs, iter_max=2)
    assert not fit.converged
    assert "did NOT end normally after 2 iterations" in fit.summary()


def test_unknown_estimator(hs):
    with pytest.raises(torchfit.TorchfitError, match="estimator 'PML' is not available"):
        torchfit.cfa(HS_MODEL, hs, estimator="PML")


def test_unsupported_operator_is_refused_clearly(hs):
    with pytest.raises(ModelSyntaxError, match="operator '<~' is not supported"):
        torchfit.cfa("visual =~ x1 + x2 + x3; f <~ x1 + x2", hs)


def test_start_values_that_violate_an_inequality(hs):
    with pytest.raises(ModelError, match="start values violate the constraint 'v > 0.2'"):
        torchfit.cfa("visual =~ x1 + x2 + x3; x1 ~~ start(0.1)*v*x1; v > 0.2", hs)


def test_unknown_label_in_a_definition_or_constraint(hs):
    with pytest.raises(ModelError, match=r"'ab := a\*c' uses 'c', which is not the label"):
        torchfit.sem("visual =~ x1 + a*x2 + b*x3; ab := a*c", hs)
    with pytest.raises(ModelError, match=r"constraint 'a == 2\*bb' uses 'bb'.*did you mean 'b'"):
        torchfit.sem("visual =~ x1 + a*x2 + b*x3; a == 2*bb", hs)


def test_thresholds_need_the_iwave_estimator(hs):
    with pytest.raises(ModelError, match="estimator='IWAVE'"):
        torchfit.cfa("visual =~ x1 + x2 + x3; x1 | t1", hs)


def test_data_of_the_wrong_type():
    with pytest.raises(DataError, match="pandas DataFrame"):
        torchfit.cfa(HS_MODEL, [[1, 2, 3]])


def test_callers_data_frame_is_not_modified(hs):
    data = hs.copy()
    data.loc[0, "x1"] = np.nan
    before = data.copy()
    torchfit.cfa(HS_MODEL, data, missing="listwise")
    pd.testing.assert_frame_equal(data, before)


def test_group_column_with_one_level(hs):
    data = hs[hs["school"] == "Pasteur"]
    with pytest.raises(DataError, match="'school' has a single value .*Pasteur"):
        torchfit.cfa(HS_MODEL, data, group="school")


def test_group_column_with_missing_values(hs):
    data = hs.copy()
    data.loc[[0, 5], "school"] = None
    with pytest.raises(DataError, match="'school' is missing in 2 rows"):
        torchfit.cfa(HS_MODEL, data, group="school")


def test_grouping_variable_in_the_model(hs):
    with pytest.raises(DataError, match="'grade' is both the grouping variable and a variable"):
        torchfit.sem("visual =~ x1 + x2 + x3; visual ~ grade", hs.dropna(), group="grade")


def test_missing_grouping_column_is_named(hs):
    with pytest.raises(DataError, match="'School'.*did you mean 'school'"):
        torchfit.cfa(HS_MODEL, hs, group="School")


def test_per_group_modifier_of_the_wrong_length(hs):
    with pytest.raises(ModelSyntaxError, match="c\\(\\) gives 3 values .* 2 group"):
        torchfit.cfa("visual =~ x1 + c(a, b, c)*x2 + x3", hs, group="school")


def test_unknown_group_equal_type(hs):
    with pytest.raises(torchfit.TorchfitError, match="group_equal 'loading' is not known"):
        torchfit.cfa(HS_MODEL, hs, group="school", group_equal=["loading"])


def test_latent_name_that_is_also_a_column_is_refused(hs):
    # lavaan: "some latent variable names collide with observed variable names"
    data = hs.assign(visual=hs["x1"])
    for estimator, extra in (("ML", {}), ("IWAVE", {"max_epochs": 1})):
        with pytest.raises(DataError, match="latent variable names collide with observed "
                                            "variable names: visual; rename"):
            torchfit.cfa(HS_MODEL, data, estimator=estimator, **extra)


def test_duplicate_column_names_are_named(hs):
    data = pd.concat([hs, hs[["x4"]]], axis=1)
    before = data.copy()
    for estimator in ("ML", "IWAVE"):
        with pytest.raises(DataError, match="the data have 2 columns named 'x4'; .* rename or "
                                            "drop the duplicates"):
            torchfit.cfa(HS_MODEL, data, estimator=estimator)
    pd.testing.assert_frame_equal(data, before)


def test_duplicate_grouping_column_is_named(hs):
    data = pd.concat([hs, hs[["school"]]], axis=1)
    with pytest.raises(DataError, match="2 columns named 'school'"):
        torchfit.cfa(HS_MODEL, data, group="school")


def test_duplicate_column_the_model_does_not_use_is_ignored(hs):
    # extra columns are ignored, duplicates among them too
    data = pd.concat([hs, hs[["ageyr"]]], axis=1)
    assert torchfit.cfa(HS_MODEL, data).converged


@pytest.mark.parametrize("estimator", ["ML", "IWAVE"])
def test_empty_data_say_they_are_empty(hs, estimator):
    with pytest.raises(DataError, match=r"the data are empty \(0 rows, 15 columns\)"):
        torchfit.cfa(HS_MODEL, hs.iloc[:0], estimator=estimator)
    with pytest.raises(DataError, match=r"the data are empty \(0 rows, 0 columns\)"):
        torchfit.cfa(HS_MODEL, pd.DataFrame(), estimator=estimator)


def test_group_partial_entry_that_names_no_parameter(hs):
    with pytest.raises(torchfit.TorchfitError,
                       match=r"group_partial entry 'x99 ~ 1' names no parameter of the model "
                             r"\(did you mean 'x9 ~ 1'"):
        torchfit.cfa(HS_MODEL, hs, group="school", group_equal=["loadings", "intercepts"],
                     group_partial=["x3 ~ 1", "x99 ~ 1"])


def test_group_partial_covariance_in_the_other_order_gets_a_hint(hs):
    with pytest.raises(torchfit.TorchfitError,
                       match=r"'textual ~~ visual' names no parameter of the model \(did you "
                             r"mean 'visual ~~ textual'\? the table writes"):
        torchfit.cfa(HS_MODEL, hs, group="school", group_equal="lv.covariances",
                     group_partial="textual ~~ visual")


def test_group_equal_of_the_wrong_type(hs):
    with pytest.raises(torchfit.TorchfitError, match="group_equal must be a string or a list "
                                                     "of strings, not int"):
        torchfit.cfa(HS_MODEL, hs, group="school", group_equal=3)


def test_group_options_with_a_parameter_table_are_refused(hs):
    pt = torchfit.model.partable.parse(HS_MODEL, ngroups=2, meanstructure=True)
    with pytest.raises(torchfit.TorchfitError, match="group_equal applies to lavaan syntax; a "
                                                     "parameter table carries"):
        torchfit.cfa(pt, hs, group="school", group_equal="loadings")


@pytest.mark.parametrize("missing", ["ml", "ml.x"])
def test_fiml_refuses_the_mini_batch_options_it_would_ignore(hs, missing):
    data = hs.copy()
    data.loc[data.index[::7], "x2"] = np.nan
    with pytest.raises(ModelError, match="batch_size, lr \\(mini-batch ML\\) take complete rows"):
        torchfit.cfa(HS_MODEL, data, missing=missing, batch_size=64, lr=0.05)
    fit = torchfit.cfa(HS_MODEL, data, missing=missing)  # the same call without them fits
    assert fit.info["missing"] == missing and fit.converged


@pytest.mark.parametrize("option", [{"group": "school"}, {"iter_max": 50},
                                    {"information": "observed"}, {"meanstructure": True},
                                    {"group_equal": ["loadings"]}])
def test_iwave_refuses_the_ml_options_it_would_ignore(hs, option):
    name = next(iter(option))
    with pytest.raises(TypeError, match=f"option\\(s\\) {name} are for estimator .*, "
                                        "not 'IWAVE'"):
        torchfit.cfa(HS_MODEL, hs, estimator="IWAVE", **option)
