import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SessionStore } from '../../src/access/session-store.ts';

function clockAt(start: number) {
  const clock = { time: start, now: () => clock.time };
  return clock;
}

describe('browser sessions', () => {
  it('finds a session by its id, with a CSRF token of its own', () => {
    const store = new SessionStore(clockAt(0));
    const a = store.create(7);
    const b = store.create(7);
    assert.notEqual(a.id, b.id);
    assert.notEqual(a.session.csrfToken, b.session.csrfToken);
    assert.deepEqual(store.find(a.id), a.session);
    assert.equal(store.find(`${a.id}x`), undefined);
  });

  it('ends a session left idle, and any session past its maximum age', () => {
    const clock = clockAt(0);
    const store = new SessionStore(clock, { idleMs: 1000, maxAgeMs: 5000 });
    const idle = store.create(1);
    const busy = store.create(2);
    for (let t = 800; t <= 4800; t += 800) {
      clock.time = t;
      assert.ok(store.find(busy.id), `busy session alive at ${t}`);
    }
    assert.equal(store.find(idle.id), undefined);
    clock.time = 5200;
    assert.equal(store.find(busy.id), undefined);
  });

  it('forgets a deleted session', () => {
    const store = new SessionStore(clockAt(0));
    const { id } = store.create(3);
    store.delete(id);
    assert.equal(store.find(id), undefined);
  });
});
