/** How the dashboard writes numbers and moments for people. */

export { int } from '../../analytics/format.ts';

/** A moment as people read it, in the shop's time zone: "6 Dec 2026, 14:02 CET". */
export function humanDate(at: Date | string, timeZone: string): string {
  const date = typeof at === 'string' ? new Date(at) : at;
  return new Intl.DateTimeFormat('en-GB', {
    timeZone,
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  }).format(date);
}

/**
 * A moment in a table whose heading names the zone, in the shop's time zone: "24 May, 10:00",
 * with the year ("24 May 2025, 10:00") unless it is `now`'s year there (always, without `now`);
 * the day alone ("24 May", "24 May 2025") with `day`.
 */
export function shortDate(at: Date | string, timeZone: string, { now, day = false }: { now?: Date; day?: boolean } = {}): string {
  const date = typeof at === 'string' ? new Date(at) : at;
  const yearOf = (d: Date) => new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric' }).format(d);
  return new Intl.DateTimeFormat('en-GB', {
    timeZone,
    day: 'numeric',
    month: 'short',
    ...(now && yearOf(now) === yearOf(date) ? {} : { year: 'numeric' }),
    ...(day ? {} : { hour: '2-digit', minute: '2-digit' }),
  }).format(date);
}
