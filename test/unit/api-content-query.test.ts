import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditLogFilter, auditLogOrder } from '../../src/http/api/audit-logs.ts';
import { sortItems } from '../../src/http/api/sorting.ts';
import { timeCondition } from '../../src/http/api/time-range.ts';
import { RegistryError } from '../../src/oci/errors.ts';

const badRequest = (error: unknown) => error instanceof RegistryError && error.code === 'BAD_REQUEST';

describe('sortItems', () => {
  const items = [
    { name: 'b', size: 2 },
    { name: 'a', size: 2 },
    { name: 'c', size: 1 },
  ];
  const keys = { name: (item: { name: string }) => item.name, size: (item: { size: number }) => item.size };

  it('sorts by the given fields, then by the fallback', () => {
    assert.deepEqual(
      sortItems(items, '-size', keys, 'name').map((item) => item.name),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(
      sortItems(items, undefined, keys, '-name').map((item) => item.name),
      ['c', 'b', 'a'],
    );
  });

  it('refuses an unknown field', () => {
    assert.throws(() => sortItems(items, 'colour', keys, 'name'), badRequest);
  });
});

describe('timeCondition', () => {
  it("reads Harbor's UTC times and ISO times", () => {
    assert.deepEqual(
      timeCondition({ kind: 'range', min: '2024-01-02 03:04:05', max: '2024-01-02T03:04:06Z' }),
      {
        kind: 'range',
        min: String(Date.UTC(2024, 0, 2, 3, 4, 5)),
        max: String(Date.UTC(2024, 0, 2, 3, 4, 6)),
      },
    );
    assert.deepEqual(timeCondition({ kind: 'range', max: '2024-01-02 03:04:05' }), {
      kind: 'range',
      min: undefined,
      max: String(Date.UTC(2024, 0, 2, 3, 4, 5)),
    });
  });

  it('refuses what is not a range of times', () => {
    assert.throws(() => timeCondition({ kind: 'exact', value: '2024-01-01' }), badRequest);
    assert.throws(() => timeCondition({ kind: 'range', min: 'yesterday' }), badRequest);
  });
});

describe('auditLogFilter', () => {
  it("maps Harbor's q keys onto the query's filters", () => {
    assert.deepEqual(
      auditLogFilter('username=admin,resource=~lib/app,operation={create delete},resource_type=tag'),
      {
        username: { exact: 'admin' },
        resource: { contains: 'lib/app' },
        operation: { oneOf: ['create', 'delete'] },
        resourceType: { exact: 'tag' },
      },
    );
    assert.deepEqual(auditLogFilter('op_time=[2024-01-01 00:00:00~]'), { from: Date.UTC(2024, 0, 1) });
  });

  it('refuses unknown keys and sorts', () => {
    assert.throws(() => auditLogFilter('colour=red'), badRequest);
    assert.throws(() => auditLogOrder('colour'), badRequest);
    assert.deepEqual(auditLogOrder(undefined), [{ column: 'op_time', descending: true }]);
    assert.deepEqual(auditLogOrder('username,-id'), [
      { column: 'username', descending: false },
      { column: 'id', descending: true },
    ]);
  });
});
