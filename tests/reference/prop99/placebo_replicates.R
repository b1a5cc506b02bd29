# Placebo replicates of synthdid 0.0.9 (Arkhangelsky et al. 2021, Algorithm 4) for fixed
# permutations, so that the Python port can be compared draw by draw (no shared RNG).
# Run from this folder: Rscript placebo_replicates.R  (needs synthdid 0.0.9 installed)
suppressMessages(library(synthdid))
data('california_prop99')
setup = panel.matrices(california_prop99)
perms = as.matrix(read.csv('placebo_permutations.csv', header = FALSE))  # 1-based control rows
fits = list(sdid = synthdid_estimate(setup$Y, setup$N0, setup$T0),
            sc = sc_estimate(setup$Y, setup$N0, setup$T0),
            did = did_estimate(setup$Y, setup$N0, setup$T0))
out = data.frame(replicate = seq_len(nrow(perms)))
for (name in names(fits)) {
  est = fits[[name]]
  s = attr(est, 'setup'); opts = attr(est, 'opts'); weights = attr(est, 'weights')
  theta = function(ind) {
    n0 = length(ind) - 1
    wb = weights
    wb$omega = synthdid:::sum_normalize(weights$omega[ind[1:n0]])
    c(do.call(synthdid_estimate, c(list(Y = s$Y[ind, ], N0 = n0, T0 = s$T0, X = s$X[ind, , ], weights = wb), opts)))
  }
  out[[name]] = apply(perms, 1, theta)
}
write.csv(format(out, digits = 15), 'placebo_replicates_r.csv', row.names = FALSE, quote = FALSE)
