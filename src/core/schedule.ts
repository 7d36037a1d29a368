/**
 * When a step may go out: never inside the sequence's quiet hours (in the customer's time
 * zone), and never so that the customer gets more than the frequency cap allows across all
 * sequences. A step that would break either is delayed to the first allowed time, never
 * dropped.
 */
export interface QuietHours {
  /** "21:00" */
  start: string;
  /** "08:00" */
  end: string;
}

export interface FrequencyCap {
  max: number;
  windowMs: number;
}

/** One formatter per time zone (there are a few hundred at most). */
const clockFormats = new Map<string, Intl.DateTimeFormat>();

/** Minutes since local midnight of `at` in `timeZone`. */
function localMinutes(at: Date, timeZone: string): number {
  let format = clockFormats.get(timeZone);
  if (!format)
    clockFormats.set(
      timeZone,
      (format = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })),
    );
  const parts = format.formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return get('hour') * 60 + get('minute');
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** The first moment at or after `at` outside the quiet hours. */
export function afterQuietHours(at: Date, quiet: QuietHours | undefined, timeZone: string): Date {
  if (!quiet) return at;
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  const now = localMinutes(at, timeZone);
  const inside = start <= end ? now >= start && now < end : now >= start || now < end;
  if (!inside) return at;
  const wait = (end - now + 1440) % 1440;
  // Land on the minute the quiet hours end (seconds dropped), re-checked for DST shifts.
  const candidate = new Date(at.getTime() + wait * 60_000 - (at.getTime() % 60_000));
  return localMinutes(candidate, timeZone) === end ? candidate : afterQuietHours(new Date(candidate.getTime() + 60_000), quiet, timeZone);
}

/** The first moment at or after `at` when one more email keeps `sent` within the cap. */
export function afterFrequencyCap(at: Date, sent: Date[], cap: FrequencyCap | undefined): Date {
  if (!cap) return at;
  const times = sent.map((d) => d.getTime()).sort((a, b) => a - b);
  let t = at.getTime();
  for (;;) {
    const inWindow = times.filter((s) => s > t - cap.windowMs && s <= t);
    if (inWindow.length < cap.max) return new Date(t);
    // Wait until the oldest send in the window leaves it.
    t = inWindow[inWindow.length - cap.max]! + cap.windowMs + 1;
  }
}

/** Both rules together: the earliest time that satisfies both. */
export function allowedSendTime(
  at: Date,
  rules: { quiet?: QuietHours | undefined; timeZone: string; sent: Date[]; cap?: FrequencyCap | undefined },
): Date {
  let t = at;
  for (let i = 0; i < 50; i++) {
    const next = afterQuietHours(afterFrequencyCap(t, rules.sent, rules.cap), rules.quiet, rules.timeZone);
    if (next.getTime() === t.getTime()) return t;
    t = next;
  }
  return t;
}
