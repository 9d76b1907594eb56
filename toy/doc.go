// Package toy computes the one-dimensional problems of the paper's Figure 1 and Figures 3/4
// (the paper's Appendix A, Figures 1, 3 and 4) exactly: ERM L(θ), SAM max_{|ε|≤ρ} L(θ+ε), and TSAM (1/t)·log E_µ[exp(t·L(θ+ε))]
// for any t ≥ 0, with µ uniform on |ε| ≤ ρ or Gaussian N(0, σ²).
//
// # Numerics
//
// TSAM objectives are integrals over µ evaluated by composite Gauss–Legendre quadrature
// (Quadrature, default 512 nodes in panels of 16, with extra panel boundaries at the loss's
// kinks), turned into a max-shifted weighted log-sum-exp by tilt.ObjectiveP. The TSAM
// gradient is the tilted average of L'(θ+ε) over the same nodes (tilt.WeightsP, Lemma 3.2).
// The SAM max is taken over a 257-point grid that includes both endpoints and the kinks,
// refined by golden-section search. Global minimisers use a grid plus golden-section search.
//
// # The sign of the Figure 1 loss
//
// The extracted text reads L(θ) = 2·sin(4πθ)/(2θ) + 0.005·(θ−1)², where a leading minus may have
// been lost. This package uses L(θ) = −sin(4πθ)/θ + 0.005·(θ−1)² (Fig1Sign = −1), because
// only then does the paper's description appear with its own settings (ρ = 0.2, learning rate
// 0.005, start θ = 0.5):
//
//   - with −1, ERM moves right from θ = 0.5 and stops after 17 steps in the sharp minimum
//     θ = 0.6148 (L″ = 254.7), and the curvature at the end point falls as t grows (TSAM
//     t = 0 and 1: θ = 0.6566, L″ = 192.7; t = 20 and 100: L″ ≈ 100.5);
//   - with +1, ERM moves left toward θ ≈ 0.318, whose curvature L″ ≈ 491 exceeds 2/lr = 400,
//     so gradient descent never settles (it is still bouncing after 20000 steps), and the end
//     curvature of TSAM grows from t = 0 (213.8) to t = 1 (221.6).
//
// The local minima of either sign get flatter to the right (the oscillation's amplitude decays
// as 1/θ), as the paper's caption says.
//
// # Gradient descent
//
// Descend runs θ ← clip(θ − lr·∇objective(θ), 0.2, 2.5) for at most 3000 steps (DefaultFig1),
// stopping once a step moves θ by less than 1e-10. With ρ = 0.2 the exact SAM objective and
// the TSAM objective at large t are flat around θ = 0.5 (the window [0.3, 0.7] contains the
// loss's peak at 0.37, whose height alone sets the max), so their gradient there is below 4e-7
// (SAM, t = 20; 2e-14 at t = 100) and gradient descent does not leave the start point. Each run
// therefore also reports the objective's global minimiser over the domain, where a perfect
// optimiser would end: for t ≥ 5 and SAM it is the flat minimum θ = 2.1346 (L″ = 72.6), for
// t = 1 θ = 1.638 (L″ = 93.2); for t = 0 and ERM it is the domain edge θ = 0.2.
package toy
