/**
 * Logged-out sessions, remembered until they would have expired anyway. A session cookie is
 * stateless (signed, carrying its expiry and a random id), so logging out cannot take it
 * back from whoever holds a copy: the server has to remember that its id is dead.
 *
 * Where the dashboard has Redis (`campaign serve` and the demo: the queues' connection),
 * the ids live there, one key each with a lifetime equal to the session's remaining life,
 * so every server of a deployment refuses a logged-out cookie and nothing accumulates.
 * Without Redis (a dashboard mounted on its own, tests) they live in this process's memory,
 * which is correct for one process only.
 */

/** The revoked session ids. */
export interface RevokedSessions {
  /** Remembers `id` as logged out until `expiresAt` (epoch ms), when the cookie dies anyway. */
  revoke(id: string, expiresAt: number): Promise<void>;
  /** True when `id` was logged out. */
  has(id: string): Promise<boolean>;
}

/** What the store needs of a Redis client (an ioredis `Redis` is one). */
export interface SessionRedis {
  set(key: string, value: string, millisecondsToken: 'PX', milliseconds: number): Promise<unknown>;
  exists(key: string): Promise<number>;
}

/** Revoked ids in Redis under `${prefix}:dashboard:logged-out:<id>`, each expiring with its session. */
export function redisRevocations(redis: SessionRedis, prefix: string, now: () => number = Date.now): RevokedSessions {
  const key = (id: string) => `${prefix}:dashboard:logged-out:${id}`;
  return {
    async revoke(id, expiresAt) {
      const remaining = Math.ceil(expiresAt - now());
      if (remaining > 0) await redis.set(key(id), '1', 'PX', remaining);
    },
    async has(id) {
      return (await redis.exists(key(id))) > 0;
    },
  };
}

/** Revoked ids in this process's memory, forgotten once their session would have expired. */
export function memoryRevocations(now: () => number = Date.now): RevokedSessions {
  const revoked = new Map<string, number>();
  return {
    async revoke(id, expiresAt) {
      const at = now();
      for (const [other, until] of revoked) if (until <= at) revoked.delete(other);
      if (expiresAt > at) revoked.set(id, expiresAt);
    },
    async has(id) {
      const until = revoked.get(id);
      return until !== undefined && until > now();
    },
  };
}
