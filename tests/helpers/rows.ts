/**
 * Rows as the engine stores them (customers, orders, enrollments, messages, events),
 * inserted directly, for tests and benchmarks of what reads them: attribution and reports.
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../src/db/client.ts';

export /** Inserts rows, returning their ids. */
class Rows {
  private next = { customer: 0, order: 0, message: 0 };
  constructor(private readonly db: Db) {}

  async customers(count: number): Promise<number[]> {
    const first = this.next.customer;
    this.next.customer += count;
    const rows = await queryRows<{ id: number }>(
      this.db,
      sql`insert into customers (external_id, email, accepts_marketing) select 'x-' || n, 'x' || n || '@example.com', 'yes' from generate_series(${first}::int, ${first + count - 1}::int) n returning id`,
    );
    return rows.map((r) => r.id);
  }

  async orders(list: { customer: number; at: string; total: number }[]): Promise<number[]> {
    if (list.length === 0) return [];
    const values = list.map(
      (o) => sql`(${`row-${this.next.order++}`}, ${o.customer}, ${o.at}::timestamptz, ${o.total.toFixed(2)}::numeric, 1)`,
    );
    const rows = await queryRows<{ id: number }>(
      this.db,
      sql`insert into orders (external_id, customer_id, ordered_at, total, item_count) values ${sql.join(values, sql`, `)} returning id`,
    );
    return rows.map((r) => r.id);
  }

  async enrollments(
    list: { customer: number; version: number; sequence: string; arm: string; trigger: number; at: string; preSpend: number }[],
  ): Promise<number[]> {
    const values = list.map(
      (e) =>
        sql`(${e.customer}, ${e.sequence}, ${e.version}, ${e.arm}, ${e.arm === 'holdout'}, ${e.trigger}, ${e.arm === 'holdout' ? 'holdout' : 'completed'}, ${e.at}::timestamptz, ${e.preSpend.toFixed(2)}::numeric)`,
    );
    const rows = await queryRows<{ id: number }>(
      this.db,
      sql`insert into enrollments (customer_id, sequence_id, sequence_version_id, arm, is_holdout, trigger_order_id, state, enrolled_at, pre_spend)
          values ${sql.join(values, sql`, `)} returning id`,
    );
    return rows.map((r) => r.id);
  }

  /** `count` new customers enrolled in `arm`, the i-th at `at(i)` after a $40 trigger order then: their ids and the enrollments'. */
  async enrolledArm(e: {
    sequence: string;
    version: number;
    arm: string;
    count: number;
    at: (i: number) => string;
    preSpend: (i: number) => number;
  }): Promise<{ customers: number[]; enrollments: number[] }> {
    const customers = await this.customers(e.count);
    const triggers = await this.orders(customers.map((customer, i) => ({ customer, at: e.at(i), total: 40 })));
    const enrollments = await this.enrollments(
      customers.map((customer, i) => ({
        customer,
        sequence: e.sequence,
        version: e.version,
        arm: e.arm,
        trigger: triggers[i]!,
        at: e.at(i),
        preSpend: e.preSpend(i),
      })),
    );
    return { customers, enrollments };
  }

  /** New customers, one per name: each one's id and external id. */
  async named<Name extends string>(names: readonly Name[]): Promise<Record<Name, { id: number; external: string }>> {
    const first = this.next.customer;
    const ids = await this.customers(names.length);
    return Object.fromEntries(names.map((name, i) => [name, { id: ids[i]!, external: `x-${first + i}` }])) as Record<
      Name,
      { id: number; external: string }
    >;
  }

  async message(enrollment: number, customer: number, step: number, sentAt: string): Promise<number> {
    const [row] = await queryRows<{ id: number }>(
      this.db,
      sql`insert into messages (enrollment_id, step, customer_id, recipient, state, message_id, sent_at)
          values (${enrollment}, ${step}, ${customer}, 'someone@example.com', 'sent', ${`<m${this.next.message++}@test>`}, ${sentAt}::timestamptz) returning id`,
    );
    return row!.id;
  }

  async event(message: number, customer: number, type: string, occurredAt: string, machineReason: string | null = null): Promise<void> {
    await this.db.execute(
      sql`insert into events (message_id, customer_id, type, is_human, machine_reason, occurred_at) values (${message}, ${customer}, ${type}, ${machineReason === null}, ${machineReason}, ${occurredAt}::timestamptz)`,
    );
  }
}
