// Ridge regression by its normal equations, (XᵀX + λ·n·D) w = Xᵀy with D = I except 0 for the
// intercept: the Gram matrix is accumulated row by row (millions of rows, k ≈ 20 columns, so X
// is never held), and the k×k system is solved with ml-matrix's Cholesky decomposition.
// Several targets share one X (one per horizon), so Xᵀy is a k×targets matrix.
import { CholeskyDecomposition, Matrix } from 'ml-matrix';

export class RidgeAccumulator {
  readonly gram: Float64Array;
  readonly xty: Float64Array;
  rows = 0;
  constructor(
    readonly features: number,
    readonly targets: number,
  ) {
    this.gram = new Float64Array(features * features);
    this.xty = new Float64Array(features * targets);
  }

  /** Adds one row: x (length features), y (length targets). */
  add(x: ArrayLike<number>, y: ArrayLike<number>): void {
    const k = this.features;
    for (let i = 0; i < k; i++) {
      const xi = x[i]!;
      if (xi === 0) continue;
      const row = i * k;
      for (let j = i; j < k; j++) this.gram[row + j]! += xi * x[j]!;
      for (let h = 0; h < this.targets; h++) this.xty[i * this.targets + h]! += xi * y[h]!;
    }
    this.rows++;
  }

  /**
   * Weights, weights[h * features + i], for penalty λ (relative to the row count) on every
   * feature but `intercept` (its index; -1 for none).
   */
  solve(lambda: number, intercept: number): Float64Array {
    const k = this.features;
    const a = new Matrix(k, k);
    for (let i = 0; i < k; i++) {
      for (let j = i; j < k; j++) {
        a.set(i, j, this.gram[i * k + j]!);
        a.set(j, i, this.gram[i * k + j]!);
      }
      if (i !== intercept) a.set(i, i, a.get(i, i) + lambda * Math.max(1, this.rows));
    }
    const b = new Matrix(k, this.targets);
    for (let i = 0; i < k; i++) for (let h = 0; h < this.targets; h++) b.set(i, h, this.xty[i * this.targets + h]!);
    const chol = new CholeskyDecomposition(a);
    if (!chol.isPositiveDefinite()) throw new RangeError('ridge: the regularised Gram matrix is not positive definite');
    const w = chol.solve(b);
    const out = new Float64Array(k * this.targets);
    for (let h = 0; h < this.targets; h++) for (let i = 0; i < k; i++) out[h * k + i] = w.get(i, h);
    return out;
  }
}
