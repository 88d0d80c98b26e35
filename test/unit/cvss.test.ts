import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cvss3BaseScore, normalizeSeverityWord, roundUp, severityOfScore } from '../../src/vuln/cvss.ts';
import { resolveSeverity } from '../../src/vuln/osv-record.ts';

describe('CVSS 3.x base score', () => {
  // Scores as NVD and the FIRST calculator give them for these vectors.
  const known: [string, number][] = [
    ['AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
    ['CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', 7.2],
    ['CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 8.8],
    ['CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:L/A:N', 6.9],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L', 5.3],
    ['CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H', 7.4],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:H', 9.1],
    ['CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L', 5.6],
    ['CVSS:3.1/AV:N/AC:H/PR:L/UI:R/S:U/C:N/I:N/A:L', 2.6],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', 10],
    ['CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 7.8],
    ['CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N', 1.6],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N', 0],
    // Temporal and environmental metrics do not change the base score.
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C', 9.8],
  ];
  for (const [vector, score] of known) {
    it(`${vector} = ${score}`, () => assert.equal(cvss3BaseScore(vector), score));
  }

  it('rejects what is not a complete v3 vector', () => {
    assert.equal(
      cvss3BaseScore('CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:L'),
      undefined,
    );
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H'), undefined);
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), undefined);
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), undefined);
    assert.equal(cvss3BaseScore('AV:N/AC:L/Au:N/C:P/I:P/A:P'), undefined);
  });

  it('rounds up as the 3.1 Roundup does, without float artefacts', () => {
    assert.equal(roundUp(4.0), 4.0);
    assert.equal(roundUp(4.02), 4.1);
    assert.equal(roundUp(4.000000001), 4.0);
  });
});

describe('advisory severity', () => {
  it('maps scores and words to one scale', () => {
    assert.equal(severityOfScore(9.8), 'critical');
    assert.equal(severityOfScore(7), 'high');
    assert.equal(severityOfScore(6.9), 'medium');
    assert.equal(severityOfScore(0.1), 'low');
    assert.equal(severityOfScore(0), 'unknown');
    assert.equal(normalizeSeverityWord('MODERATE'), 'medium');
    assert.equal(normalizeSeverityWord('Important'), 'high');
    assert.equal(normalizeSeverityWord('bogus'), undefined);
  });

  it('scores CVSS v3, keeps a v4 vector, falls back to the database word', () => {
    assert.deepEqual(
      resolveSeverity({
        severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
      }),
      { severity: 'critical', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', score: 9.8 },
    );
    const v4 = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N';
    assert.deepEqual(
      resolveSeverity({
        severity: [{ type: 'CVSS_V4', score: v4 }],
        database_specific: { severity: 'HIGH' },
      }),
      { severity: 'high', vector: v4, score: null },
    );
    assert.deepEqual(resolveSeverity({ severity: [], database_specific: { severity: 'LOW' } }), {
      severity: 'low',
      vector: null,
      score: null,
    });
    assert.deepEqual(resolveSeverity({}), { severity: 'unknown', vector: null, score: null });
  });
});
