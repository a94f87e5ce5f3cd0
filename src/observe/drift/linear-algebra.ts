/**
 * The little dense linear algebra outlier scores and KernelSHAP need: Cholesky factors of small
 * symmetric positive-definite matrices (a covariance, a least-squares system) and solves with
 * them. Matrices are row-major Float64Arrays of n×n values.
 */

/**
 * The lower-triangular L with L·Lᵀ = `matrix`, or undefined when the matrix is not (numerically)
 * positive definite.
 */
export function cholesky(matrix: Float64Array, n: number): Float64Array | undefined {
  if (matrix.length !== n * n) throw new RangeError(`a ${n}×${n} matrix has ${n * n} values, got ${matrix.length}`);
  const lower = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = matrix[i * n + j] as number;
      for (let k = 0; k < j; k++) sum -= (lower[i * n + k] as number) * (lower[j * n + k] as number);
      if (i === j) {
        if (!(sum > 0)) return undefined;
        lower[i * n + i] = Math.sqrt(sum);
      } else {
        lower[i * n + j] = sum / (lower[j * n + j] as number);
      }
    }
  }
  return lower;
}

/** y with L·y = b (forward substitution). */
export function solveLower(lower: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = b[i] as number;
    for (let k = 0; k < i; k++) sum -= (lower[i * n + k] as number) * (y[k] as number);
    y[i] = sum / (lower[i * n + i] as number);
  }
  return y;
}

/** x with L·Lᵀ·x = b, given the Cholesky factor L. */
export function solveCholesky(lower: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const x = solveLower(lower, n, b);
  for (let i = n - 1; i >= 0; i--) {
    let sum = x[i] as number;
    for (let k = i + 1; k < n; k++) sum -= (lower[k * n + i] as number) * (x[k] as number);
    x[i] = sum / (lower[i * n + i] as number);
  }
  return x;
}

/**
 * Solves the symmetric positive semi-definite system A·x = b. A singular A (e.g. too few
 * KernelSHAP coalitions to separate every feature) gets a ridge that grows until it factors,
 * which picks the smallest-norm-like solution instead of failing.
 */
export function solveSymmetric(matrix: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  let trace = 0;
  for (let i = 0; i < n; i++) trace += matrix[i * n + i] as number;
  const scale = trace > 0 ? trace / n : 1;
  for (let ridge = 0; ridge <= scale; ridge = ridge === 0 ? scale * 1e-12 : ridge * 100) {
    const regularized = Float64Array.from(matrix);
    for (let i = 0; i < n; i++) regularized[i * n + i] = (regularized[i * n + i] as number) + ridge;
    const lower = cholesky(regularized, n);
    if (lower) return solveCholesky(lower, n, b);
  }
  throw new RangeError(`the ${n}×${n} system could not be solved: its matrix is not positive semi-definite`);
}
