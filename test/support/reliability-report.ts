/**
 * Figures the fault tests measure for RELIABILITY.md. test/e2e/faults-redis-sentinel.test.ts runs first (path
 * order) and records its failovers here; test/e2e/faults.test.ts writes the file (WRITE_RELIABILITY=1) with them.
 */

export interface FailoverFigures {
  run: string;
  /** Kill → the Sentinels name the promoted replica (ms). */
  promotionMs: number;
  /** Kill → the first 200 to a REGISTER sent after the kill (ms). */
  outageMs: number | null;
  /** Final answers to REGISTERs sent between the kill and that 200, by status (with cause when 503). */
  answers: Record<string, number>;
  /** 200s answered more than 1 s before the kill, and how many of those bindings the new master lacks. */
  ackedEarly: number;
  lostEarly: number;
  /** 200s answered in the last second before the kill, or after it (in flight), and how many are lost. */
  ackedLate: number;
  lostLate: number;
}

export const failovers: FailoverFigures[] = [];
