// MAE, RMSE and MAPE as DCRNN reports them (Li et al., ICLR 2018, §4): over every (cell, origin)
// pair, MAPE leaving out actual values below a floor (zeros and near-zeros would dominate it;
// DCRNN masks the sensors' zero readings the same way).
export interface Metrics {
  mae: number;
  rmse: number;
  /** Percent. */
  mape: number;
  n: number;
}

export class ErrorAccumulator {
  private abs = 0;
  private sq = 0;
  private pct = 0;
  private n = 0;
  private nPct = 0;
  constructor(readonly mapeFloor: number) {}

  add(actual: number, predicted: number): void {
    const e = predicted - actual;
    this.abs += Math.abs(e);
    this.sq += e * e;
    this.n++;
    if (Math.abs(actual) >= this.mapeFloor) {
      this.pct += Math.abs(e) / Math.abs(actual);
      this.nPct++;
    }
  }

  result(): Metrics {
    const n = Math.max(1, this.n);
    return { mae: this.abs / n, rmse: Math.sqrt(this.sq / n), mape: (100 * this.pct) / Math.max(1, this.nPct), n: this.n };
  }
}
