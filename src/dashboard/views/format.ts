/** How the dashboard writes numbers and moments for people. */

/** A whole number with thousands separators: 12,345. */
export const int = (n: number): string => n.toLocaleString('en-US');

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
