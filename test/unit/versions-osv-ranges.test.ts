import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { baseEcosystem, comparatorFor, supportedEcosystems } from '../../src/vuln/versions/index.ts';
import { allFixedVersions, evaluateAffected, type OsvAffected } from '../../src/vuln/versions/osv-ranges.ts';
import { sharedFixture } from '../helpers/fixtures.ts';

interface OsvRecord {
  id: string;
  affected: OsvAffected[];
}

const advisory = (folder: string, id: string): OsvRecord =>
  JSON.parse(readFileSync(sharedFixture('advisories', folder, `${id}.json`), 'utf8')) as OsvRecord;

/** What the real record says about one package version: affected or not, and the fixes that apply. */
function check(record: OsvRecord, ecosystem: string, name: string, version: string) {
  const entries = record.affected.filter(
    (a) => a.package?.ecosystem === ecosystem && a.package.name === name,
  );
  assert.ok(entries.length > 0, `${record.id} has no ${ecosystem} ${name} entry`);
  const results = entries.map((entry) => evaluateAffected(entry, version));
  for (const result of results) assert.deepEqual(result.unsupported, []);
  return {
    affected: results.some((r) => r.affected),
    fixed: [...new Set(results.flatMap((r) => r.fixed))],
    lastAffected: results.flatMap((r) => r.lastAffected),
  };
}

describe('OSV ranges of the real GitHub advisories (npm and others)', () => {
  // [advisory, ecosystem, package, version, affected, fixed versions that apply]
  const cases: [string, string, string, string, boolean, string[]][] = [
    ['GHSA-fvqr-27wr-82fm', 'npm', 'lodash', '4.17.4', true, ['4.17.5']],
    ['GHSA-fvqr-27wr-82fm', 'npm', 'lodash', '4.17.5', false, []],
    ['GHSA-fvqr-27wr-82fm', 'npm', 'lodash', '0.1.0', true, ['4.17.5']],
    ['GHSA-4xc9-xhrj-v574', 'npm', 'lodash', '4.17.4', true, ['4.17.11']],
    ['GHSA-jf85-cpcp-j695', 'npm', 'lodash', '4.17.4', true, ['4.17.12']],
    ['GHSA-jf85-cpcp-j695', 'npm', 'lodash-es', '4.17.13', true, ['4.17.14']],
    ['GHSA-jf85-cpcp-j695', 'npm', 'lodash.defaultsdeep', '4.6.1', false, []],
    ['GHSA-p6mc-m468-83gw', 'npm', 'lodash', '4.17.4', true, ['4.17.20']],
    ['GHSA-p6mc-m468-83gw', 'npm', 'lodash', '4.17.20', false, []],
    ['GHSA-35jh-r3h4-6jhm', 'npm', 'lodash', '4.17.4', true, ['4.17.21']],
    ['GHSA-35jh-r3h4-6jhm', 'npm', 'lodash', '4.17.21', false, []],
    ['GHSA-29mw-wpgm-hmr9', 'npm', 'lodash', '4.17.20', true, ['4.17.21']],
    ['GHSA-6c3j-c64m-qhgq', 'npm', 'jquery', '3.3.1', true, ['3.4.0']],
    ['GHSA-6c3j-c64m-qhgq', 'npm', 'jquery', '3.4.0', false, []],
    ['GHSA-gxr4-xjj5-5px2', 'npm', 'jquery', '3.3.1', true, ['3.5.0']],
    ['GHSA-gxr4-xjj5-5px2', 'npm', 'jquery', '1.1.4', false, []],
    ['GHSA-gxr4-xjj5-5px2', 'npm', 'jquery', '1.2.0', true, ['3.5.0']],
    ['GHSA-gxr4-xjj5-5px2', 'npm', 'jquery', '3.5.0', false, []],
    ['GHSA-gxr4-xjj5-5px2', 'NuGet', 'jquery', '3.4.1', true, ['3.5.0']],
    ['GHSA-gxr4-xjj5-5px2', 'NuGet', 'jquery', '1.10.2', true, ['3.5.0']],
    ['GHSA-gxr4-xjj5-5px2', 'RubyGems', 'jquery-rails', '4.3.5', true, ['4.4.0']],
    ['GHSA-gxr4-xjj5-5px2', 'RubyGems', 'jquery-rails', '4.4.0', false, []],
    ['GHSA-gxr4-xjj5-5px2', 'Maven', 'org.webjars.npm:jquery', '3.4.1', true, ['3.5.0']],
    ['GHSA-gxr4-xjj5-5px2', 'Maven', 'org.webjars.npm:jquery', '3.5.0', false, []],
    ['GHSA-jpcq-cgw6-v4j6', 'npm', 'jquery', '3.3.1', true, ['3.5.0']],
    ['GHSA-jpcq-cgw6-v4j6', 'npm', 'jquery', '1.0.2', false, []],
    ['GHSA-vh95-rmgr-6w4m', 'npm', 'minimist', '0.0.8', true, ['0.2.1']],
    ['GHSA-vh95-rmgr-6w4m', 'npm', 'minimist', '1.2.0', true, ['1.2.3']],
    ['GHSA-vh95-rmgr-6w4m', 'npm', 'minimist', '0.2.1', false, []],
    ['GHSA-vh95-rmgr-6w4m', 'npm', 'minimist', '1.2.5', false, []],
    ['GHSA-xvch-5gv4-984h', 'npm', 'minimist', '1.2.5', true, ['1.2.6']],
    ['GHSA-xvch-5gv4-984h', 'npm', 'minimist', '0.2.1', true, ['0.2.4']],
    ['GHSA-xvch-5gv4-984h', 'npm', 'minimist', '1.2.6', false, []],
    // introduced "1.0" is not full SemVer; both entries apply to 2.6.6.
    ['GHSA-r683-j2x4-v87g', 'npm', 'node-fetch', '2.6.6', true, ['3.1.1', '2.6.7']],
    ['GHSA-r683-j2x4-v87g', 'npm', 'node-fetch', '3.0.0', true, ['3.1.1']],
    ['GHSA-r683-j2x4-v87g', 'npm', 'node-fetch', '3.1.1', false, []],
    ['GHSA-w7rc-rwvf-8q5r', 'npm', 'node-fetch', '2.6.0', true, ['2.6.1']],
    ['GHSA-w7rc-rwvf-8q5r', 'npm', 'node-fetch', '3.0.0-beta.8', true, ['3.0.0-beta.9']],
    ['GHSA-w7rc-rwvf-8q5r', 'npm', 'node-fetch', '3.0.0-beta.9', false, []],
    ['GHSA-w7rc-rwvf-8q5r', 'npm', 'node-fetch', '3.0.0', false, []],
    ['GHSA-rv95-896h-c2vc', 'npm', 'express', '4.19.1', true, ['4.19.2']],
    ['GHSA-rv95-896h-c2vc', 'npm', 'express', '4.19.2', false, []],
    ['GHSA-rv95-896h-c2vc', 'npm', 'express', '5.0.0-beta.1', true, ['5.0.0-beta.3']],
    ['GHSA-rv95-896h-c2vc', 'npm', 'express', '5.0.0-beta.3', false, []],
    ['GHSA-rv95-896h-c2vc', 'npm', 'express', '5.0.0', false, []],
    ['GHSA-qw6h-vgh9-j6wx', 'npm', 'express', '5.0.0-beta.3', true, ['5.0.0']],
    ['GHSA-qw6h-vgh9-j6wx', 'npm', 'express', '4.19.2', true, ['4.20.0']],
    ['GHSA-qw6h-vgh9-j6wx', 'npm', 'express', '5.0.0', false, []],
  ];
  for (const [id, ecosystem, name, version, affected, fixed] of cases) {
    it(`${id}: ${ecosystem} ${name}@${version} is ${affected ? `affected, fixed in ${fixed.join(', ')}` : 'not affected'}`, () => {
      const result = check(advisory('npm', id), ecosystem, name, version);
      assert.equal(result.affected, affected);
      assert.deepEqual(result.fixed, fixed);
    });
  }

  it('reads last_affected as inclusive (GHSA-29mw-wpgm-hmr9, lodash.trim)', () => {
    const record = advisory('npm', 'GHSA-29mw-wpgm-hmr9');
    assert.deepEqual(check(record, 'npm', 'lodash.trim', '4.5.1'), {
      affected: true,
      fixed: [],
      lastAffected: ['4.5.1'],
    });
    assert.deepEqual(check(record, 'npm', 'lodash.trimend', '4.5.1'), {
      affected: true,
      fixed: [],
      lastAffected: ['4.5.1'],
    });
    assert.equal(check(record, 'npm', 'lodash.trim', '4.5.2').affected, false);
  });

  it('finds lodash 4.17.4 in every lodash advisory of the sample', () => {
    const ids = [
      'GHSA-fvqr-27wr-82fm',
      'GHSA-4xc9-xhrj-v574',
      'GHSA-jf85-cpcp-j695',
      'GHSA-p6mc-m468-83gw',
      'GHSA-35jh-r3h4-6jhm',
      'GHSA-29mw-wpgm-hmr9',
    ];
    for (const id of ids)
      assert.equal(check(advisory('npm', id), 'npm', 'lodash', '4.17.4').affected, true, id);
    for (const id of ids)
      assert.equal(check(advisory('npm', id), 'npm', 'lodash', '4.17.21').affected, false, id);
  });
});

describe('OSV ranges of the Debian example (DSA-3029-1, nginx, Debian:7)', () => {
  const record = advisory('debian', 'DSA-3029-1');
  const cases: [string, boolean][] = [
    ['1.2.1-2.2+wheezy2', true],
    ['1.2.1-2.2', true],
    ['1.2.1-2.2+wheezy3', false],
    ['1.2.1-2.2+wheezy3+deb7u1', false],
    ['1.2.1-2.2+wheezy3~bpo1', true],
    ['1:1.0-1', false],
  ];
  for (const [version, affected] of cases) {
    it(`nginx ${version} is ${affected ? '' : 'not '}affected`, () => {
      const result = check(record, 'Debian:7', 'nginx', version);
      assert.equal(result.affected, affected);
      assert.deepEqual(result.fixed, affected ? ['1.2.1-2.2+wheezy3'] : []);
    });
  }
});

describe('OSV evaluation algorithm (docs/schema.md examples and rules)', () => {
  const semverRange = (...events: object[]): OsvAffected => ({ ranges: [{ type: 'SEMVER', events }] });

  it('introduced "0" alone: every version is affected, no fix', () => {
    const entry = semverRange({ introduced: '0' });
    for (const v of ['0.0.0', '1.0.0-alpha', '99.0.0'])
      assert.deepEqual(evaluateAffected(entry, v, 'npm').affected, true);
    assert.deepEqual(evaluateAffected(entry, '1.0.0', 'npm').fixed, []);
  });

  it('multiple introduced/fixed pairs in one range, in any listed order', () => {
    const inOrder = semverRange(
      { introduced: '1.0.0' },
      { fixed: '1.0.2' },
      { introduced: '3.0.0' },
      { fixed: '3.2.5' },
    );
    const shuffled = semverRange(
      { fixed: '3.2.5' },
      { introduced: '1.0.0' },
      { introduced: '3.0.0' },
      { fixed: '1.0.2' },
    );
    const expected: [string, boolean, string[]][] = [
      ['0.9.0', false, []],
      ['1.0.0', true, ['1.0.2']],
      ['1.0.1', true, ['1.0.2']],
      ['1.0.2', false, []],
      ['2.0.0', false, []],
      ['3.1.0', true, ['3.2.5']],
      ['3.2.5', false, []],
    ];
    for (const entry of [inOrder, shuffled]) {
      for (const [version, affected, fixed] of expected) {
        const result = evaluateAffected(entry, version, 'npm');
        assert.equal(result.affected, affected, version);
        assert.deepEqual(result.fixed, fixed, version);
      }
    }
  });

  it('last_affected is inclusive, fixed is exclusive', () => {
    const lastAffected = {
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { last_affected: '2.1.214' }] }],
    };
    const fixed = semverRange({ introduced: '0' }, { fixed: '2.1.214' });
    assert.equal(evaluateAffected(lastAffected, '2.1.214', 'npm').affected, true);
    assert.equal(evaluateAffected(lastAffected, '2.1.215', 'npm').affected, false);
    assert.equal(evaluateAffected(fixed, '2.1.214', 'npm').affected, false);
    assert.equal(evaluateAffected(fixed, '2.1.213', 'npm').affected, true);
  });

  it('limit caps a range; "*" is infinity; several limits widen it', () => {
    const limited = semverRange({ introduced: '1.0.0' }, { limit: '2.0.0' });
    assert.equal(evaluateAffected(limited, '1.5.0', 'npm').affected, true);
    assert.equal(evaluateAffected(limited, '2.0.0', 'npm').affected, false);
    const infinite = semverRange({ introduced: '1.0.0' }, { limit: '*' });
    assert.equal(evaluateAffected(infinite, '9.0.0', 'npm').affected, true);
    const two = semverRange({ introduced: '1.0.0' }, { limit: '2.0.0' }, { limit: '3.0.0' });
    assert.equal(evaluateAffected(two, '2.5.0', 'npm').affected, true);
    assert.equal(evaluateAffected(two, '3.0.0', 'npm').affected, false);
  });

  it('the enumerated versions list matches on its own, and by the ecosystem equality', () => {
    const entry: OsvAffected = { package: { ecosystem: 'PyPI', name: 'x' }, versions: ['1.0', '1.1rc1'] };
    assert.equal(evaluateAffected(entry, '1.0').affected, true);
    assert.equal(evaluateAffected(entry, '1.0.0').affected, true);
    assert.equal(evaluateAffected(entry, '1.1RC1').affected, true);
    assert.equal(evaluateAffected(entry, '1.1').affected, false);
  });

  it('says so for GIT ranges instead of guessing, and still uses the versions list', () => {
    const entry: OsvAffected = {
      package: { ecosystem: 'npm', name: 'x' },
      ranges: [
        {
          type: 'GIT',
          repo: 'https://github.com/owner/repo',
          events: [{ introduced: 'a'.repeat(40) }, { fixed: 'b'.repeat(40) }],
        },
      ],
      versions: ['1.0.0'],
    };
    const listed = evaluateAffected(entry, '1.0.0');
    assert.equal(listed.affected, true);
    assert.match(
      listed.unsupported[0] ?? '',
      /GIT range of https:\/\/github.com\/owner\/repo: not supported/,
    );
    assert.equal(evaluateAffected(entry, '2.0.0').affected, false);
  });

  it('reports an ecosystem it cannot order, and versions it cannot read', () => {
    const unknown = evaluateAffected(
      { ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] },
      '1.0',
      'Hackage',
    );
    assert.equal(unknown.affected, false);
    assert.match(unknown.unsupported[0] ?? '', /no version ordering for ecosystem "Hackage"/);
    const unreadable = evaluateAffected(
      semverRange({ introduced: '0' }, { fixed: '1.0.0' }),
      'not-a-version',
      'npm',
    );
    assert.equal(unreadable.affected, false);
    assert.match(unreadable.unsupported[0] ?? '', /not a valid semver version/);
  });

  it('uses each ecosystem its own order in ECOSYSTEM ranges', () => {
    const range = (introduced: string, fixed: string): OsvAffected => ({
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced }, { fixed }] }],
    });
    assert.equal(evaluateAffected(range('0', '1.0'), '1.0~rc1', 'Ubuntu:22.04:LTS').affected, true);
    assert.equal(evaluateAffected(range('0', '1.2.3-r10'), '1.2.3-r9', 'Alpine:v3.17').affected, true);
    assert.equal(evaluateAffected(range('0', '1.0-1.el9'), '1.0-1.el9_1', 'Rocky Linux:9').affected, false);
    assert.equal(evaluateAffected(range('0', '2.0'), '2.0rc1', 'PyPI').affected, true);
    assert.equal(evaluateAffected(range('0', '2.0'), '2.0-SNAPSHOT', 'Maven').affected, true);
    assert.equal(
      evaluateAffected(range('0', '0.1.0'), 'v0.0.0-20191109021931-daa7c04131f5', 'Go').affected,
      true,
    );
    assert.equal(evaluateAffected(range('0', '1.0'), '1.0.a', 'RubyGems').affected, true);
    assert.equal(evaluateAffected(range('0', '1.0.0'), '1.0.0-RC1', 'Packagist').affected, true);
  });

  it('lists every fixed version of an entry', () => {
    assert.deepEqual(
      allFixedVersions(
        semverRange({ introduced: '0' }, { fixed: '1.0.2' }, { introduced: '3.0.0' }, { fixed: '3.2.5' }),
      ),
      ['1.0.2', '3.2.5'],
    );
  });
});

describe('comparatorFor', () => {
  it('maps every OSV ecosystem the scanner meets to its scheme', () => {
    const expected: Record<string, string> = {
      Debian: 'dpkg',
      'Debian:12': 'dpkg',
      'Ubuntu:Pro:18.04:LTS': 'dpkg',
      'Alpine:v3.17': 'apk',
      'Rocky Linux:9': 'rpm',
      'AlmaLinux:8': 'rpm',
      'Red Hat:enterprise_linux:9::appstream': 'rpm',
      'SUSE:SUSE Linux Enterprise Server 15 SP5': 'rpm',
      npm: 'semver',
      'crates.io': 'semver',
      PyPI: 'pep440',
      Go: 'go',
      'Maven:https://maven.google.com': 'maven',
      RubyGems: 'rubygems',
      Packagist: 'composer',
      NuGet: 'nuget',
    };
    for (const [ecosystem, scheme] of Object.entries(expected))
      assert.equal(comparatorFor(ecosystem)?.scheme, scheme, ecosystem);
    assert.equal(comparatorFor('Hackage'), undefined);
    assert.equal(baseEcosystem('Ubuntu:22.04:LTS'), 'Ubuntu');
    assert.ok(supportedEcosystems().includes('Rocky Linux'));
  });
});
