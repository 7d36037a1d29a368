/**
 * The tracked messages the endpoints look up, kept in memory once sent: what tracking
 * reads of a sent message (its customer, links, sequence, arm and step) never changes, so
 * an open or a click of a recent message costs no query of its own.
 */
import { LRUCache } from 'lru-cache';
import type { Db } from '../db/client.ts';
import { findTrackedMessage, type TrackedMessage } from '../store/tracking.ts';

export type { TrackedMessage } from '../store/tracking.ts';

/**
 * A look-up of messages by id that remembers the sent ones (up to 50,000, the least
 * recently used going first). A message not sent yet is read again next time: its
 * `sentAt` is still to come. An unknown id is never cached, so it cannot crowd out real ones.
 */
export function messageCache(db: Db): (id: number) => Promise<TrackedMessage | undefined> {
  const sent = new LRUCache<number, TrackedMessage>({ max: 50_000 });
  return async (id) => {
    const cached = sent.get(id);
    if (cached) return cached;
    const message = await findTrackedMessage(db, id);
    if (message?.sentAt) sent.set(id, message);
    return message;
  };
}
