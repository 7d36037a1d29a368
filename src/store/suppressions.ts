/**
 * Suppressed addresses: the one place an address stops receiving email. Every path that
 * learns an address must not be mailed again (an SMTP hard bounce, an ESP's bounce or
 * complaint webhook, an unsubscribe link or one-click POST) calls `suppress()`, so all of
 * them leave the same two marks: a row in `suppressions` (keyed by the lower-cased address,
 * read by the step processor before every send) and `customers.suppressed_reason` (shown on
 * the customer). The first reason wins: a later one never overwrites it.
 */
import { UNSUBSCRIBE_SOURCE } from '../core/consent.ts';
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { customers, suppressions } from '../db/schema.ts';
import { addressHash } from './customer-data.ts';

export type SuppressionReason = (typeof suppressions.$inferInsert)['reason'];

/**
 * Suppresses `email` for `reason`, noting where the news came from (`source`: an SMTP
 * response, `webhook`, `link`). Returns true when the address was not suppressed before.
 * An erased address is suppressed already, by its hash (`erased_addresses`), and is never
 * written here again: a late bounce for it must not store the address it erased.
 * Run it inside the caller's transaction when it must commit with other writes.
 */
export async function suppress(db: Db, email: string, reason: SuppressionReason, source: string): Promise<boolean> {
  const inserted = await db
    .insert(suppressions)
    .select(
      sql`select lower(${email}), ${reason}, ${source}, now()
          where not exists (select 1 from erased_addresses where email_hash = ${addressHash(email)})`,
    )
    .onConflictDoNothing({ target: suppressions.email })
    .returning({ email: suppressions.email });
  await db
    .update(customers)
    .set({ suppressedReason: sql`coalesce(${customers.suppressedReason}, ${reason})` })
    .where(sql`lower(${customers.email}) = lower(${email})`);
  return inserted.length > 0;
}

/**
 * A customer's own unsubscribe (link or one-click): the customer is marked unsubscribed
 * (the first time counts), their marketing consent withdrawn (`no`, from `unsubscribe`,
 * which an undated shop export never undoes: src/core/consent.ts) and the address
 * suppressed. Run it in a transaction with the event that records the unsubscribe.
 */
export async function unsubscribeCustomer(db: Db, customer: { id: number; email: string }): Promise<void> {
  await db
    .update(customers)
    .set({
      unsubscribedAt: sql`coalesce(${customers.unsubscribedAt}, now())`,
      acceptsMarketing: 'no',
      consentAt: sql`case when ${customers.acceptsMarketing} = 'no' and ${customers.consentSource} = ${UNSUBSCRIBE_SOURCE} then ${customers.consentAt} else now() end`,
      consentSource: UNSUBSCRIBE_SOURCE,
      updatedAt: sql`now()`,
    })
    .where(sql`${customers.id} = ${customer.id}`);
  await suppress(db, customer.email, 'unsubscribe', 'link');
}
