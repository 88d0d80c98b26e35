import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cvss3BaseScore,
  cvss4Score,
  normalizeSeverityWord,
  roundUp,
  severityOfScore,
} from '../../src/vuln/cvss.ts';
import { cweIdsOf, resolveSeverity } from '../../src/vuln/osv-record.ts';

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

  it('scores CVSS v3 first, else CVSS v4, else takes the database word', () => {
    const v3 = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
    const v4 = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H';
    assert.deepEqual(resolveSeverity({ severity: [{ type: 'CVSS_V3', score: v3 }] }), {
      severity: 'critical',
      vector: v3,
      score: 9.8,
      v4Vector: null,
      v4Score: null,
    });
    // Only v4: its score sets the severity, over the database's own word.
    assert.deepEqual(
      resolveSeverity({
        severity: [{ type: 'CVSS_V4', score: v4 }],
        database_specific: { severity: 'HIGH' },
      }),
      { severity: 'critical', vector: null, score: null, v4Vector: v4, v4Score: 10 },
    );
    // Both: v3 sets the severity; v4 is scored and kept beside it (GHSA-qw6h-vgh9-j6wx's vectors).
    const lowV4 = 'CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:L';
    assert.deepEqual(
      resolveSeverity({
        severity: [
          { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:L' },
          { type: 'CVSS_V4', score: lowV4 },
        ],
      }),
      {
        severity: 'medium',
        vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:L',
        score: 5,
        v4Vector: lowV4,
        v4Score: 2.3,
      },
    );
    // An unscorable v4 vector is kept, and the word decides.
    const partial = 'CVSS:4.0/AV:N/AC:L';
    assert.deepEqual(
      resolveSeverity({
        severity: [{ type: 'CVSS_V4', score: partial }],
        database_specific: { severity: 'LOW' },
      }),
      { severity: 'low', vector: null, score: null, v4Vector: partial, v4Score: null },
    );
    assert.deepEqual(resolveSeverity({}), {
      severity: 'unknown',
      vector: null,
      score: null,
      v4Vector: null,
      v4Score: null,
    });
  });

  it('reads CWE ids from database_specific.cwe_ids', () => {
    assert.deepEqual(cweIdsOf({ database_specific: { cwe_ids: ['CWE-1321', 'CWE-79', 'CWE-79'] } }), [
      'CWE-1321',
      'CWE-79',
    ]);
    assert.deepEqual(cweIdsOf({ database_specific: { cwe_ids: ['NVD-CWE-Other', 7] } }), []);
    assert.deepEqual(cweIdsOf({}), []);
  });
});

describe('CVSS 4.0 score', () => {
  // FIRST CVSS SIG, "CVSS v4 Calculator Validation Reference Set": repository
  // FIRSTdotorg/cvss-resources, file vectorFiles/reference-scores (stored version at commit
  // 16a7aaaebb458f344549384e2529b7204a0555c8), section "Max Equivalency Set Vectors". Vectors and
  // scores copied as published there.
  const reference: [string, number][] = [
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:A/CR:H/IR:H/AR:H/MSI:S/MSA:S', 10],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:U/CR:H/IR:H/AR:H/MSI:S/MSA:S', 9.5],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:P/CR:H/IR:H/AR:H', 9.3],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:L/SI:L/SA:L/E:P/CR:H/IR:H/AR:H', 8.9],
    ['CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:L/SI:L/SA:L/E:U/CR:H/IR:H/AR:H', 7.2],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:L/SI:L/SA:L/E:U/CR:M/IR:M/AR:M', 6.8],
    ['CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:L/SI:L/SA:L/E:U/CR:M/IR:M/AR:M', 5.3],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:L/VA:H/SC:L/SI:L/SA:L/E:U/CR:M/IR:H/AR:M', 4.8],
    ['CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:L/VA:H/SC:L/SI:L/SA:L/E:U/CR:M/IR:H/AR:M', 3],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:L/SI:L/SA:L/E:U/CR:H/IR:H/AR:H', 2.7],
    ['CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:L/VI:L/VA:L/SC:L/SI:L/SA:L/E:U/CR:H/IR:H/AR:H', 1.7],
    ['CVSS:4.0/AV:A/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:P/CR:H/IR:H/AR:H/MSI:S/MSA:S', 9.4],
    ['CVSS:4.0/AV:A/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:U/CR:H/IR:H/AR:H', 6.1],
    ['CVSS:4.0/AV:A/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:L/SI:L/SA:L/E:P/CR:M/IR:M/AR:M', 6.3],
  ];
  for (const [vector, score] of reference) {
    it(`${vector} = ${score}`, () => assert.equal(cvss4Score(vector), score));
  }

  it('scores base-only vectors (E, CR, IR, AR not defined count as their worst case)', () => {
    // Per the v4.0 specification, E:X is E:A and CR/IR/AR:X are H, so the base-only vector scores
    // as the first reference vector without MSI/MSA: 10.
    assert.equal(cvss4Score('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H'), 10);
    assert.equal(
      cvss4Score('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:A/CR:H/IR:H/AR:H'),
      10,
    );
  });

  it('rejects what is not a complete v4.0 vector', () => {
    assert.equal(cvss4Score('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), undefined);
    assert.equal(cvss4Score('CVSS:4.0/AV:N/AC:L'), undefined);
    assert.equal(cvss4Score('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:Q'), undefined);
    assert.equal(
      cvss4Score('CVSS:4.0/AV:N/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H'),
      undefined,
    );
    assert.equal(cvss4Score('AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H'), undefined);
    assert.equal(cvss4Score('nonsense'), undefined);
  });
});
