/**
 * Scheduled jobs once per cluster (docs/operations.md): instances sharing a store each tick every
 * job, and the first to claim a job's period runs it; the digest is queued under its day in
 * DIGEST_TIMEZONE, so a second instance or a restart never sends it twice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createScheduler, type Job } from '../../../src/adapters/scheduler/jobs.js';
import { createDigest } from '../../../src/app/notify/send-digest.js';
import { dayIn, tickPeriod } from '../../../src/domain/job-periods.js';
import { quietLogger } from '../../support/fakes.js';
import { createTestApp, type TestApp } from '../../support/app-fixtures.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

describe('scheduled jobs across instances', () => {
  let app: TestApp;
  afterEach(async () => {
    await app?.close();
  });

  /** One instance's scheduler over the shared store: its runs are counted in `runs`. */
  function instance(owner: string, runs: string[], skewMs = 0) {
    const now = () => app.clock.now() + skewMs;
    const job: Job = { name: 'sweep-deadlines', schedule: '* * * * *', period: (at) => tickPeriod(at, MINUTE), run: async () => runs.push(owner) };
    return createScheduler([job], quietLogger, { claim: (name, period) => app.store.claimJobRun({ job: name, period, owner, now: now() }), now });
  }

  it('runs each job once per period, whichever instance ticks first, even with clocks a little apart', async () => {
    app = await createTestApp();
    const runs: string[] = [];
    // c's clock runs 340 ms behind: its tick for the same minute fires "before" the boundary.
    const [a, b, c] = [instance('a', runs), instance('b', runs), instance('c', runs, -340)];
    app.clock.set(Date.UTC(2026, 11, 2, 8, 0, 0) + 40);
    await Promise.all([a.tick('sweep-deadlines'), b.tick('sweep-deadlines'), c.tick('sweep-deadlines')]);
    expect(runs).toHaveLength(1);
    app.clock.set(Date.UTC(2026, 11, 2, 8, 1, 0) + 10);
    await Promise.all([c.tick('sweep-deadlines'), b.tick('sweep-deadlines'), a.tick('sweep-deadlines')]);
    expect(runs).toHaveLength(2);
    // runNow (admin, tests) is not claimed: it always runs.
    await a.runNow('sweep-deadlines');
    expect(runs).toHaveLength(3);
  });
});

describe('the daily digest', () => {
  let app: TestApp;
  afterEach(async () => {
    await app?.close();
  });

  it('is queued once per day in DIGEST_TIMEZONE by however many instances, and posted once', async () => {
    app = await createTestApp();
    await app.track(1, 2);
    const digestOf = () => createDigest({ store: app.store, slack: app.slack, channel: '#refunds', timeZone: 'Asia/Singapore', clock: app.clock });
    const [first, second] = [digestOf(), digestOf()];
    // 23:30 UTC on 1 December is 07:30 on 2 December in Singapore.
    app.clock.set(Date.UTC(2026, 11, 1, 23, 30));
    expect(await Promise.all([first(), second()]).then((r) => r.sort())).toEqual([false, true]);
    // A restart later that day queues nothing new.
    app.clock.advance(2 * 60 * MINUTE);
    expect(await digestOf()()).toBe(false);
    await app.dispatch();
    const posts = app.slack.posts().filter((p) => /^Refunds: \d+ pending/.test(p.text));
    expect(posts).toHaveLength(1);
    expect(posts[0]!.text).toMatch(/^Refunds: 2 pending/);
    expect((await app.outbox({ refundKey: 'digest' })).map((e) => [e.dedupeKey, e.status])).toEqual([['digest:2026-12-02', 'sent']]);
    // The next day in Singapore begins at 16:00 UTC.
    app.clock.set(Date.UTC(2026, 11, 2, 16, 0));
    expect(await first()).toBe(true);
  });

  it('counts the day in the time zone it is given', () => {
    const t = Date.UTC(2026, 11, 1, 23, 30);
    expect([dayIn(t, 'UTC'), dayIn(t, 'Asia/Singapore'), dayIn(t, 'America/Sao_Paulo')]).toEqual(['2026-12-01', '2026-12-02', '2026-12-01']);
  });
});
