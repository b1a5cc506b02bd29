# Prints metafor's default output for the BCG models used in the tests (raw output kept in
# metafor_bcg_printed.txt). Run from this folder:  Rscript metafor_bcg_printed.R > metafor_bcg_printed.txt
# Made with R 4.2.2 and metafor 3.8-1 (Debian bookworm packages r-cran-metafor, r-cran-metadat).
suppressPackageStartupMessages(library(metafor))
bcg <- read.csv("bcg.csv", stringsAsFactors = FALSE)
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
for (method in c("REML", "DL", "PM", "EE")) {
  for (test in c("z", "knha")) {
    cat("\n### rma(yi, vi, data=dat, method=\"", method, "\", test=\"", test, "\")\n", sep = "")
    res <- suppressWarnings(rma(yi, vi, data = dat, method = method, test = test))
    print(res)
    print(predict(res))
    print(predict(res, transf = exp))
    if (method != "EE") print(confint(res))
  }
}
for (method in c("REML", "DL", "PM")) {
  for (test in c("z", "knha")) {
    cat("\n### rma(yi, vi, mods = ~ ablat + year, data=dat, method=\"", method, "\", test=\"", test, "\")\n", sep = "")
    print(rma(yi, vi, mods = ~ ablat + year, data = dat, method = method, test = test))
  }
}
res <- rma(yi, vi, data = dat)
cat("\n### leave1out(rma(yi, vi, data=dat))\n"); print(leave1out(res))
cat("\n### influence(rma(yi, vi, data=dat))\n"); print(influence(res))
res <- rma(yi, vi, mods = ~ ablat + year, data = dat)
cat("\n### influence(rma(yi, vi, mods = ~ ablat + year, data=dat))\n"); print(influence(res))
