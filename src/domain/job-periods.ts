/**
 * The period a scheduled job's run belongs to: what the instances of a cluster agree on, so each
 * job runs once per period (docs/operations.md).
 */

/**
 * The tick of a job that runs every `everyMs`: the tick nearest to `now`. Nearest rather than
 * floor, so two instances whose clocks differ by less than half the interval name the same tick
 * even when one fires a little before the boundary and the other a little after.
 */
export function tickPeriod(now: number, everyMs: number): string {
  return String(Math.round(now / everyMs));
}

/** The calendar day of `now` in `timeZone` (an IANA name), as YYYY-MM-DD: the digest's key. */
export function dayIn(now: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(now);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/** Whether `timeZone` is an IANA time zone this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return true;
  } catch {
    return false;
  }
}
