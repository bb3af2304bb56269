/**
 * FACADE_MAX_ROWS per GraphQL request: every bar read asks Flight for at most the remaining budget
 * plus one row, so an oversized request fails after reading max+1 rows, never the whole result.
 */
import { facadeError } from './errors.js';

export class RowBudget {
  #used = 0;

  constructor(readonly max: number) {}

  get remaining(): number {
    return Math.max(0, this.max - this.#used);
  }

  /** The Flight `limit` for a read that may return up to `wanted` rows (undefined: unbounded). */
  readLimit(wanted?: number): number {
    const cap = this.remaining + 1;
    return wanted === undefined ? cap : Math.min(wanted, cap);
  }

  /** Charges `rows` returned to the client; throws ROW_LIMIT_EXCEEDED when over the budget. */
  charge(rows: number): void {
    if (rows > this.remaining) throw this.exceeded();
    this.#used += rows;
  }

  exceeded(): Error {
    return facadeError(
      'ROW_LIMIT_EXCEEDED',
      `the request would return more than FACADE_MAX_ROWS=${this.max} bar rows; narrow from/to, pass a limit or a coarser interval`,
      { limit: this.max },
    );
  }
}
