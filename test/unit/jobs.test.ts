import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryDelayMs } from '../../src/jobs/backoff.ts';
import { nextCronTime } from '../../src/jobs/cron.ts';
import { formatJobLog } from '../../src/jobs/job-log.ts';

describe('job retry backoff', () => {
  it('doubles from the base, is capped, and jitters within the upper half', () => {
    assert.equal(
      retryDelayMs(1, 1000, 60_000, () => 0),
      500,
    );
    assert.equal(
      retryDelayMs(1, 1000, 60_000, () => 1),
      1000,
    );
    assert.equal(
      retryDelayMs(3, 1000, 60_000, () => 1),
      4000,
    );
    assert.equal(
      retryDelayMs(3, 1000, 60_000, () => 0),
      2000,
    );
    assert.equal(
      retryDelayMs(30, 1000, 60_000, () => 1),
      60_000,
    );
    assert.equal(
      retryDelayMs(30, 1000, 60_000, () => 0),
      30_000,
    );
  });
});

describe('cron times', () => {
  const at = (...parts: [number, number, number, number?, number?, number?]) => Date.UTC(...parts);

  it('reads five fields and six (seconds first, as Harbor writes them), in UTC', () => {
    assert.equal(nextCronTime('0 * * * *', at(2026, 0, 1, 0, 0, 0)), at(2026, 0, 1, 1, 0, 0));
    assert.equal(nextCronTime('0 0 0 * * *', at(2026, 0, 1, 12)), at(2026, 0, 2, 0));
    assert.equal(nextCronTime('*/15 * * * * *', at(2026, 0, 1, 0, 0, 1)), at(2026, 0, 1, 0, 0, 15));
    // Sundays at 03:30: 2026-01-04 is a Sunday.
    assert.equal(nextCronTime('0 30 3 * * 0', at(2026, 0, 1)), at(2026, 0, 4, 3, 30));
  });

  it('is strictly after the given time', () => {
    assert.equal(nextCronTime('0 0 * * * *', at(2026, 0, 1, 5)), at(2026, 0, 1, 6));
  });

  it('refuses a malformed expression', () => {
    assert.throws(() => nextCronTime('61 * * * *', 0));
    assert.throws(() => nextCronTime('every day', 0));
  });
});

describe('job log text', () => {
  it('writes one line per entry with time and level', () => {
    assert.equal(
      formatJobLog([{ logged_at: at0(), level: 'warn', message: 'retrying' }]),
      '2026-01-01T00:00:00.000Z [WARN] retrying\n',
    );
  });
});

function at0(): number {
  return Date.UTC(2026, 0, 1);
}
