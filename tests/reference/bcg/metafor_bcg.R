# Generates tests/reference/bcg/metafor_bcg.json: reference values for preveval.pooling
# from R's metafor on the BCG vaccine data (dat.bcg, Colditz et al. 1994).
#
# Run from this folder:  Rscript metafor_bcg.R > metafor_bcg.json
# Made with R 4.2.2 and metafor 3.8-1 / metadat 1.2-0 (Debian bookworm packages
# r-cran-metafor, r-cran-metadat). Iterative tolerances are tightened (threshold and
# uniroot tol 1e-12) so that the values are the exact estimators, not metafor's default
# stopping points; the printed (default-control) figures are checked separately against
# metafor's documentation in the tests.
suppressPackageStartupMessages(library(metafor))
bcg <- read.csv("bcg.csv", stringsAsFactors = FALSE)
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
ctl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 1000)
cictl <- list(tol = 1e-12)

num <- function(x) {
  x <- as.numeric(x)
  s <- ifelse(is.na(x), "null", sprintf("%.15g", x))
  if (length(s) == 1) s else paste0("[", paste(s, collapse = ", "), "]")
}
obj <- function(fields) {
  paste0("{", paste(sprintf("\"%s\": %s", names(fields), unlist(fields)), collapse = ", "), "}")
}

pooled <- function(method, test) {
  res <- rma(yi, vi, data = dat, method = method, test = test, control = ctl)
  pr <- predict(res)
  f <- list(estimate = num(res$beta), se = num(res$se), zval = num(res$zval),
            pval = num(res$pval), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
            tau2 = num(res$tau2), se_tau2 = num(res$se.tau2), i2 = num(res$I2),
            h2 = num(res$H2), q = num(res$QE), q_p = num(res$QEp),
            pi_lb = num(pr$pi.lb), pi_ub = num(pr$pi.ub), weights = num(weights(res)),
            s2w = num(res$s2w))
  if (method != "EE") {
    ci <- confint(res, control = cictl)$random
    f$tau2_ci <- num(ci["tau^2", 2:3]); f$tau_ci <- num(ci["tau", 2:3])
    f$i2_ci <- num(ci["I^2(%)", 2:3]); f$h2_ci <- num(ci["H^2", 2:3])
  }
  obj(f)
}

metareg <- function(method, test, mods) {
  res <- rma(yi, vi, mods = mods, data = dat, method = method, test = test, control = ctl)
  f <- list(beta = num(res$beta), se = num(res$se), zval = num(res$zval),
            pval = num(res$pval), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
            tau2 = num(res$tau2), se_tau2 = num(res$se.tau2), i2 = num(res$I2),
            h2 = num(res$H2), r2 = num(res$R2), qe = num(res$QE), qe_p = num(res$QEp),
            qm = num(res$QM), qm_p = num(res$QMp), qm_df = num(res$QMdf))
  if (method != "EE") {
    ci <- confint(res, control = cictl)$random
    f$tau2_ci <- num(ci["tau^2", 2:3])
  }
  obj(f)
}

loo <- function(method, test) {
  res <- rma(yi, vi, data = dat, method = method, test = test, control = ctl)
  l <- leave1out(res)
  obj(list(estimate = num(l$estimate), se = num(l$se), zval = num(l$zval), pval = num(l$pval),
           ci_lb = num(l$ci.lb), ci_ub = num(l$ci.ub), q = num(l$Q), q_p = num(l$Qp),
           tau2 = num(l$tau2), i2 = num(l$I2), h2 = num(l$H2)))
}

infl <- function(method, test, mods) {
  if (is.null(mods)) {
    res <- rma(yi, vi, data = dat, method = method, test = test, control = ctl)
  } else {
    res <- rma(yi, vi, mods = mods, data = dat, method = method, test = test, control = ctl)
  }
  inf <- influence(res)
  i <- inf$inf
  d <- as.matrix(inf$dfbs)
  obj(list(rstudent = num(i$rstudent), dffits = num(i$dffits), cook_d = num(i$cook.d),
           cov_r = num(i$cov.r), tau2_del = num(i$tau2.del), qe_del = num(i$QE.del),
           hat = num(i$hat), weight = num(i$weight),
           dfbetas = paste0("[", paste(apply(d, 1, num), collapse = ", "), "]")))
}

out <- c(
  sprintf("\"yi\": %s", num(dat$yi)), sprintf("\"vi\": %s", num(dat$vi)),
  sprintf("\"pooled\": {%s}", paste(c(
    sprintf("\"%s_%s\": %s", rep(c("REML", "DL", "PM", "FE"), each = 2), rep(c("z", "knha"), 4),
            mapply(pooled, rep(c("REML", "DL", "PM", "EE"), each = 2), rep(c("z", "knha"), 4)))),
    collapse = ", ")),
  sprintf("\"metareg_ablat_year\": {%s}", paste(
    sprintf("\"%s_%s\": %s", rep(c("REML", "DL", "PM", "FE"), each = 2), rep(c("z", "knha"), 4),
            mapply(metareg, rep(c("REML", "DL", "PM", "EE"), each = 2), rep(c("z", "knha"), 4),
                   MoreArgs = list(mods = ~ ablat + year))),
    collapse = ", ")),
  sprintf("\"metareg_ablat\": {\"REML_z\": %s}", metareg("REML", "z", ~ ablat)),
  sprintf("\"leave1out\": {\"REML_z\": %s, \"DL_knha\": %s}", loo("REML", "z"), loo("DL", "knha")),
  sprintf("\"influence\": {\"REML_z\": %s, \"REML_z_ablat_year\": %s, \"PM_knha_ablat_year\": %s}",
          infl("REML", "z", NULL), infl("REML", "z", ~ ablat + year), infl("PM", "knha", ~ ablat + year)),
  sprintf("\"versions\": {\"R\": \"%s\", \"metafor\": \"%s\"}", R.version.string, packageVersion("metafor"))
)
cat("{\n", paste(out, collapse = ",\n"), "\n}\n", sep = "")
