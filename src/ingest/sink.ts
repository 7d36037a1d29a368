/**
 * What the import loop and its sinks share: a read line, a sink that batches lines into
 * writes, the bound on writes in flight, and the summary and rejections they report.
 */
import type { RecordKind } from '../core/records.ts';

export interface Rejection {
  line: number;
  reason: string;
}

export interface ImportSummary {
  kind: RecordKind;
  rows: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
  /** New orders stored, each of which wrote one `order.placed` outbox row. */
  ordersPlaced: number;
  /** Columns present but not part of the format; they are ignored. */
  ignoredColumns: string[];
}

export interface Line<T> {
  line: number;
  record: T;
}

export interface Sink<T> {
  add(line: Line<T>): Promise<void>;
  /** A line of the file was rejected; `values` holds what could be read of it. */
  fail?(line: number, values?: Record<string, unknown>): Promise<void>;
  flush(): Promise<void>;
}

/**
 * At most `limit` batch writes in flight, so reading and validating the next batch
 * overlaps with the database writing this one. A failed write fails the import.
 */
export class InFlight {
  private readonly running = new Set<Promise<void>>();
  /** The first failed write's rejection, boxed so that any value (even undefined) counts. */
  private failure: { error: unknown } | undefined;
  constructor(private readonly limit: number) {}

  async start(write: () => Promise<void>): Promise<void> {
    this.check();
    while (this.running.size >= this.limit) await Promise.race(this.running);
    this.check();
    const task: Promise<void> = write()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.running.delete(task));
    this.running.add(task);
  }

  async finish(): Promise<void> {
    await Promise.all(this.running);
    this.check();
  }

  private check(): void {
    if (this.failure) throw this.failure.error;
  }
}
