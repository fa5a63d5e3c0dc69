# Syntax errors are located in R (R/syntax.R), without Python, in the words of
# the engine's parser (python/torchfit/model/syntax.py).

BAD_MODELS <- c(
  "visual  =~ x1 + x2 + x3\n  textual =~ x4 + (x5 + x6",
  "f =~ x1 + x2 +",
  "f =~ x1 + x2\n x3",
  "f =~ x1 + x2 $ x3",
  "f =~ x1 + 2*",
  "f =~ x1 ++ x2",
  "f =~ x1 + foo(1)*x2",
  "f =~ x1 + x2\nf =~ x1",
  "f x1",
  "f =~ x1 =~ x2",
  "f =~ x1 + start(a)*x2",
  "f =~ x1 + x2 x3",
  "=~ x1",
  "f ~ 0",
  "# only a comment\n",
  "f =~ c(1,a)*x1 + x2",
  "a := ",
  "a + b := 2*c",
  "x ~ a?x1",
  "f =~ x1 + x2\nx1 ~~ x2\nx2 ~~ x1",
  "f =~ x1 + x2; x3",
  "f =~ label(1)*x1 + x2",
  "f =~ x1 + x2\ny ~ f <~ x3",
  "f <~ x1 + x2",
  "f =~ x1 + x2 + start(0.5)*",
  "f =~ x1 + 'a'*x2 + x3 ~ 1",
  "f =~ NA*x1 + c(NA, 1)*x2 + 0.5?x3 + x4\ny ~ 1 + x1\ny ~ 1"
)

test_that("the R locator agrees with the engine's parser on line, column and message", {
  skip_if_no_engine()
  syntax <- reticulate::import("torchfit.model.syntax")
  for (model in BAD_MODELS) {
    py <- tryCatch({
      syntax$parse_formulas(model)
      NULL
    }, error = function(e) {
      err <- reticulate::py_last_error()
      expect_match(err$type, "ModelSyntaxError", fixed = TRUE, label = model)
      err$value
    })
    expect_false(is.null(py), label = paste("the engine rejects", deparse(model)))
    r <- torchfit:::locate_syntax_error(model)
    expect_s3_class(r, "torchfit_modelsyntaxerror")
    expect_identical(conditionMessage(r), py, label = deparse(model))
  }
  # and a good model is no error for either
  expect_null(torchfit:::locate_syntax_error(PD_MODEL))
  expect_silent(syntax$parse_formulas(PD_MODEL))
})

test_that("torchfit() reports where the error is and what to write, without Python", {
  # (whether Python starts is checked in a fresh session in test-session.R)
  model <- "visual  =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6)"
  err <- tryCatch(torchfit(model, data = HolzingerSwineford1939), error = identity)
  expect_s3_class(err, "torchfit_modelsyntaxerror")
  expect_identical(c(err$line, err$column), c(2L, 25L))
  expect_identical(
    conditionMessage(err),
    paste0("model syntax error at line 2, column 25: expected '*' after a ",
           "modifier but found ')'\n  textual =~ x4 + x5 + x6)\n",
           strrep(" ", 2L + 24L), "^")
  )
  err <- tryCatch(torchfit("f =~ x1 + x2 + x3\nf =~ x2", data = HolzingerSwineford1939),
                  error = identity)
  expect_match(conditionMessage(err), paste0(
    "line 2, column 6: 'f =~ x2' is specified twice (first on line 1); ",
    "give each parameter once"), fixed = TRUE)
})
