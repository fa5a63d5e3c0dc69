# Regenerates the exploratory factor analysis references that
# tests/python/test_efa.py compares with.
# Run from the repository root: Rscript tests/reference/make_efa_reference.R
#
# 1. lavaan::efa() by ML on Holzinger-Swineford x1-x9 (1 to 3 factors; for 3
#    factors each rotation torchfit offers): standardized and raw rotated
#    loadings, factor correlations, residual variances and the test.
# 2. psych::fa(fm = "ml", rotate = "oblimin"), the other common route.
# 3. GPArotation on a fixed unrotated matrix, to check the rotations alone:
#    GPFoblq/GPForth with tight tolerance (1e-6 for geomin, whose
#    small epsilon makes GPA slow), the best of 10 random starts.
# Matrices are written as CSV with full precision into tests/reference/efa/.
suppressPackageStartupMessages({
  library(lavaan)
  library(GPArotation)
})
out <- file.path("tests", "reference", "efa")
dir.create(out, showWarnings = FALSE)
hs <- HolzingerSwineford1939[, paste0("x", 1:9)]
write_mat <- function(m, name) {
  m <- as.matrix(m)
  if (is.null(rownames(m))) rownames(m) <- paste0("f", seq_len(nrow(m)))
  write.csv(data.frame(item = rownames(m), unclass(m), check.names = FALSE),
            file.path(out, paste0(name, ".csv")), row.names = FALSE)
}
tests <- list()

# 1. lavaan efa()
for (case in list(list(k = 1, rot = "geomin"), list(k = 2, rot = "geomin"),
                  list(k = 3, rot = "geomin"), list(k = 3, rot = "oblimin"),
                  list(k = 3, rot = "quartimin"), list(k = 3, rot = "varimax"),
                  list(k = 3, rot = "promax"))) {
  fit <- efa(data = hs, nfactors = case$k, rotation = case$rot, output = "lavaan")
  name <- sprintf("lavaan_%s_%d", case$rot, case$k)
  std <- lavInspect(fit, "std")
  est <- lavInspect(fit, "est")
  write_mat(std$lambda, paste0(name, "_std"))
  write_mat(est$lambda, paste0(name, "_est"))
  write_mat(std$psi, paste0(name, "_phi"))
  write_mat(cbind(theta = diag(est$theta), std.theta = diag(std$theta)), paste0(name, "_theta"))
  fm <- fitMeasures(fit, c("chisq", "df", "logl", "npar"))
  tests[[name]] <- data.frame(case = name, measure = names(fm), value = unname(fm))
}
write.csv(do.call(rbind, tests), file.path(out, "lavaan_measures.csv"), row.names = FALSE)

# 2. psych::fa by ML, oblimin (GPArotation::oblimin, no normalization)
fa3 <- psych::fa(hs, nfactors = 3, fm = "ml", rotate = "oblimin")
write_mat(unclass(fa3$loadings), "psych_oblimin_3_std")
write_mat(fa3$Phi, "psych_oblimin_3_phi")
write_mat(cbind(uniqueness = fa3$uniquenesses), "psych_oblimin_3_theta")

# 3. the rotations alone, on lavaan's unrotated standardized 3-factor loadings
fit0 <- efa(data = hs, nfactors = 3, rotation = "none", output = "lavaan")
A <- lavInspect(fit0, "std")$lambda
A <- matrix(as.numeric(A), nrow(A), dimnames = list(rownames(A), colnames(A)))
write_mat(A, "unrotated_3")
best_of <- function(rotate_fn) {
  set.seed(2024)
  starts <- c(list(diag(3)), replicate(10, Random.Start(3), simplify = FALSE))
  fits <- lapply(starts, function(T0) rotate_fn(T0))
  fits[[which.min(vapply(fits, function(r) min(r$Table[, 2]), 0))]]
}
rots <- list(
  geomin = best_of(function(T0) GPFoblq(A, Tmat = T0, method = "geomin",
                                        methodArgs = list(delta = 0.001), eps = 1e-6,
                                        maxit = 20000)),
  quartimin = best_of(function(T0) GPFoblq(A, Tmat = T0, method = "quartimin", eps = 1e-8,
                                           maxit = 20000)),
  oblimin = best_of(function(T0) GPFoblq(A, Tmat = T0, method = "oblimin", eps = 1e-8,
                                         maxit = 20000)),
  varimax = GPForth(A, method = "varimax", normalize = TRUE, eps = 1e-8, maxit = 20000)
)
for (nm in names(rots)) {
  r <- rots[[nm]]
  write_mat(unclass(r$loadings), paste0("gpa_", nm, "_3_loadings"))
  phi <- if (is.null(r$Phi)) diag(3) else r$Phi
  write_mat(phi, paste0("gpa_", nm, "_3_phi"))
}
pm <- stats::promax(A, m = 4)
U <- pm$rotmat
write_mat(unclass(pm$loadings), "gpa_promax_3_loadings")
write_mat(solve(crossprod(U)), "gpa_promax_3_phi")
cat("wrote", length(list.files(out)), "files to", out, "\n")
