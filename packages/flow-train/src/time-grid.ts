/**
 * Time grids for sampling with the fixed-grid ODE solvers (t = 0 noise → t = 1 data).
 *
 * uniformGrid(n):  t_i = i/n, i = 0 … n.
 *
 * edmGrid(nfe): the EDM schedule (Karras et al. 2022, ρ = 7) mapped to flow-matching time, as
 * flow_matching's `get_time_discretization(nfes, rho=7)`:
 *   σ_i = (σ_max^{1/ρ} + i/(nfe − 1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ,  i = 0 … nfe − 1,  σ_nfe = 0,
 *   t_i = 1 − clip(σ_i/(1 + σ_i), 0, 1),  σ_min = 0.002, σ_max = 80,
 * in float64, then rounded to float32 like the reference's `.to(torch.float32)`. It has nfe + 1
 * points from 1/81 ≈ 0.0123 to 1, dense near t = 1 where the images get their detail. (The
 * name counts grid intervals: a solver with s evaluations per step spends s·nfe evaluations.)
 *
 * referenceGenerationGrid(): torch.linspace(0, 1, 10) in float32, i.e. fround(i/9), i = 0 … 9.
 */

const SIGMA_MIN = 0.002;
const SIGMA_MAX = 80;
const RHO = 7;

function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${value}`);
}

/** steps + 1 evenly spaced points from 0 to 1. */
export function uniformGrid(steps: number): number[] {
  requireInteger('uniformGrid steps', steps, 1);
  return Array.from({ length: steps + 1 }, (_, i) => i / steps);
}

/** flow_matching's `get_time_discretization(nfe)`: nfe + 1 increasing float32 times ending at 1. */
export function edmGrid(nfe: number): number[] {
  // nfe − 1 divides: one point would have no spacing to interpolate σ over.
  requireInteger('edmGrid nfe', nfe, 2);
  const high = SIGMA_MAX ** (1 / RHO);
  const low = SIGMA_MIN ** (1 / RHO);
  const sigmas = Array.from({ length: nfe }, (_, i) => (high + (i / (nfe - 1)) * (low - high)) ** RHO);
  sigmas.push(0);
  return sigmas.map((sigma) => Math.fround(1 - Math.min(Math.max(sigma / (1 + sigma), 0), 1)));
}

/** The 10-point grid torch.linspace(0, 1, 10) (float32) on which the reference generates images. */
export function referenceGenerationGrid(): number[] {
  return Array.from({ length: 10 }, (_, i) => Math.fround(i / 9));
}
