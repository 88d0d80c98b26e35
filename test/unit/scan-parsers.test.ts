import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseApkInstalled } from '../../src/scan/apk.ts';
import { parseDpkgStatus, parseStanzas } from '../../src/scan/dpkg.ts';
import { osFamily, parseOsRelease } from '../../src/scan/os-release.ts';
import { alpineLayout } from '../helpers/fixtures.ts';
import { missingTools } from '../helpers/tools.ts';

const alpineLayer = '63b65145d645c1250c391b2d16ebe53b3747c295ca8ba2fcb6b0cf064a4dc21c';

/** A file of the real alpine:3.17.2 layer, extracted by GNU tar rather than our own code. */
function alpineFile(path: string): string {
  const blob = join(alpineLayout(), 'blobs', 'sha256', alpineLayer);
  return execFileSync('tar', ['-xzOf', blob, path], { encoding: 'utf8' });
}

describe('os-release', { skip: missingTools('tar') }, () => {
  it('reads the real Alpine 3.17.2 file', () => {
    const release = parseOsRelease(alpineFile('etc/os-release'));
    assert.deepEqual(release, {
      id: 'alpine',
      versionId: '3.17.2',
      name: 'Alpine Linux',
      prettyName: 'Alpine Linux v3.17',
      idLike: [],
    });
    assert.equal(osFamily(release), 'alpine');
  });

  it('reads this machine’s os-release the way the shell would', () => {
    const text = readFileSync('/etc/os-release', 'utf8');
    const viaShell = execFileSync(
      'sh',
      ['-c', '. /etc/os-release; printf "%s\\n%s\\n%s" "$ID" "$VERSION_ID" "$PRETTY_NAME"'],
      {
        encoding: 'utf8',
      },
    ).split('\n');
    const release = parseOsRelease(text);
    assert.equal(release.id, viaShell[0]);
    assert.equal(release.versionId ?? '', viaShell[1]);
    assert.equal(release.prettyName ?? '', viaShell[2]);
  });

  it('maps IDs and ID_LIKE to families', () => {
    const family = (id: string, idLike: string[] = []) => osFamily({ id, idLike });
    assert.equal(family('debian'), 'debian');
    assert.equal(family('ubuntu', ['debian']), 'ubuntu');
    for (const id of ['rhel', 'centos', 'rocky', 'almalinux']) assert.equal(family(id), 'rhel-like');
    assert.equal(family('ol', ['fedora']), 'unknown');
    assert.equal(family('amzn', ['centos', 'rhel', 'fedora']), 'amzn');
    assert.equal(family('sles'), 'suse');
    assert.equal(family('opensuse-leap', ['suse', 'opensuse']), 'suse');
    assert.equal(family('linuxmint', ['ubuntu', 'debian']), 'ubuntu');
  });

  it('unquotes single and double quotes and skips comments', () => {
    const release = parseOsRelease(
      '# comment\nID="rocky"\nID_LIKE="rhel centos fedora"\nNAME=\'Rocky Linux\'\nVERSION_ID="9.3"\n',
    );
    assert.deepEqual(release, {
      id: 'rocky',
      idLike: ['rhel', 'centos', 'fedora'],
      name: 'Rocky Linux',
      versionId: '9.3',
    });
  });
});

describe('apk installed database', { skip: missingTools('tar') }, () => {
  it('lists the 15 packages of alpine:3.17.2 with origins, arch, files and purls', () => {
    const text = alpineFile('lib/apk/db/installed');
    const packages = parseApkInstalled(text, '3.17.2');
    // Independent reading: every P:/V:/o: line, paired in order.
    const names = [...text.matchAll(/^P:(.*)$/gm)].map((match) => match[1]);
    const versions = [...text.matchAll(/^V:(.*)$/gm)].map((match) => match[1]);
    const origins = [...text.matchAll(/^o:(.*)$/gm)].map((match) => match[1]);
    assert.equal(packages.length, 15);
    assert.deepEqual(
      packages.map((pkg) => pkg.name),
      names,
    );
    assert.deepEqual(
      packages.map((pkg) => pkg.version),
      versions,
    );
    assert.deepEqual(
      packages.map((pkg) => pkg.sourceName),
      origins,
    );
    const crypto = packages.find((pkg) => pkg.name === 'libcrypto3');
    assert.equal(crypto?.sourceName, 'openssl');
    assert.equal(crypto?.arch, 'x86_64');
    assert.equal(
      crypto?.purl,
      `pkg:apk/alpine/libcrypto3@${crypto?.version}?arch=x86_64&distro=alpine-3.17.2`,
    );
    const musl = packages.find((pkg) => pkg.name === 'musl');
    assert.ok(musl?.files?.includes('/lib/ld-musl-x86_64.so.1'), musl?.files?.join(' '));
  });
});

/** A dpkg-query --showformat naming the given fields, space-separated. */
const dpkgFields = (...names: string[]): string => names.map((name) => `\${${name}}`).join(' ');

describe('dpkg status', { skip: missingTools('dpkg-query') }, () => {
  const status = readFileSync('/var/lib/dpkg/status', 'utf8');
  const query = (format: string): string[] =>
    execFileSync('dpkg-query', ['-W', '-f', `\${db:Status-Status} ${format}\\n`], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    })
      .split('\n')
      .filter((line) => line.startsWith('installed '))
      .map((line) => line.slice('installed '.length))
      .sort();

  it('lists exactly the packages dpkg-query reports installed on this machine', () => {
    const packages = parseDpkgStatus(status, { namespace: 'debian', versionId: '12' });
    assert.ok(packages.length > 10);
    const ours = packages.map((pkg) => `${pkg.name} ${pkg.version} ${pkg.arch}`).sort();
    assert.deepEqual(ours, query(dpkgFields('Package', 'Version', 'Architecture')));
  });

  it('reads source names and versions as dpkg-query does', () => {
    const packages = parseDpkgStatus(status, { namespace: 'debian' });
    const ours = packages.map((pkg) => `${pkg.name} ${pkg.sourceName} ${pkg.sourceVersion}`).sort();
    assert.deepEqual(ours, query(dpkgFields('Package', 'source:Package', 'source:Version')));
  });

  it('builds deb purls with the distribution namespace', () => {
    const [pkg] = parseDpkgStatus(
      'Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc (2.36-9+deb12u4)\nVersion: 2.36-9+deb12u4\n',
      {
        namespace: 'ubuntu',
        versionId: '22.04',
      },
    );
    assert.equal(pkg?.purl, 'pkg:deb/ubuntu/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=ubuntu-22.04');
    assert.equal(pkg?.sourceName, 'glibc');
  });

  it('reads distroless status.d records, which carry no Status field', () => {
    const [first] = parseStanzas(status);
    assert.ok(first);
    const record = [...first]
      .filter(([key]) => key !== 'status')
      .map(([key, value]) => `${key}: ${value.replaceAll('\n', '\n ')}`)
      .join('\n');
    const packages = parseDpkgStatus(record, { namespace: 'debian' }, false);
    assert.deepEqual(
      packages.map((pkg) => [pkg.name, pkg.version]),
      [[first.get('package'), first.get('version')]],
    );
    assert.equal(parseDpkgStatus(record, { namespace: 'debian' }).length, 0);
  });
});
