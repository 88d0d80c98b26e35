import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { depsJsonDetector } from '../../src/scan/lang/dotnet.ts';
import { golangPurl, goModDetector, isApplicationGoMod, parseGoMod } from '../../src/scan/lang/go-mod.ts';
import { fileDetectors } from '../../src/scan/lang/index.ts';
import { composerLockDetector } from '../../src/scan/lang/php.ts';
import {
  pipfileLockDetector,
  poetryLockDetector,
  pythonMetadataDetector,
} from '../../src/scan/lang/python.ts';
import { gemfileLockDetector, installedGemspecDetector } from '../../src/scan/lang/ruby.ts';
import { cargoLockDetector } from '../../src/scan/lang/rust-lock.ts';
import type { FileDetector, LanguagePackage } from '../../src/scan/language-package.ts';
import { evaluateAffected } from '../../src/vuln/versions/osv-ranges.ts';
import { missingTools, run } from '../helpers/tools.ts';

const fixtureDir = new URL('../fixtures/lang/', import.meta.url);
const fixturePath = (name: string): string => fileURLToPath(new URL(name, fixtureDir));
const fixture = (name: string): Buffer => readFileSync(fixturePath(name));

type Row = [name: string, version: string, purl: string, path: string];

const rows = (packages: readonly LanguagePackage[]): Row[] =>
  packages
    .map((p): Row => [p.name, p.version, p.purl, p.path])
    .sort((a, b) => a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]));

const nameVersions = (packages: readonly LanguagePackage[]): string[] =>
  packages.map((p) => `${p.name} ${p.version}`).sort();

/** Parses a fixture as the walker would hand it over: the detector must claim the image path. */
function detect(detector: FileDetector, file: string, imagePath: string): LanguagePackage[] {
  assert.ok(detector.matches(imagePath), `${detector.name} should read ${imagePath}`);
  const content = fixture(file);
  assert.ok(content.length <= detector.maxBytes, `${file} fits ${detector.name}'s limit`);
  return detector.parse(content, imagePath);
}

/** Python's own TOML reader, as an independent view of a lockfile's `[[package]]` tables. */
async function tomlPackages(file: string): Promise<Record<string, unknown>[]> {
  const script =
    'import json,sys,tomllib; print(json.dumps(tomllib.load(open(sys.argv[1],"rb")).get("package",[])))';
  const { stdout } = await run('python3', ['-c', script, fixturePath(file)]);
  return JSON.parse(stdout) as Record<string, unknown>[];
}

const scratch = mkdtempSync(join(tmpdir(), 'berth-scan-lang-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('Python packages', { skip: missingTools('python3') }, () => {
  it('reads installed dist-info and egg-info metadata, naming the site-packages directory', async () => {
    const cases: [string, string, Row][] = [
      [
        'python/PyYAML-6.0.dist-info/METADATA',
        'usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA',
        ['PyYAML', '6.0', 'pkg:pypi/pyyaml@6.0', '/usr/lib/python3/dist-packages'],
      ],
      [
        'python/cryptography.egg-info/PKG-INFO',
        'usr/lib/python3/dist-packages/cryptography.egg-info/PKG-INFO',
        ['cryptography', '38.0.4', 'pkg:pypi/cryptography@38.0.4', '/usr/lib/python3/dist-packages'],
      ],
      [
        'python/requests-2.28.1.egg-info/PKG-INFO',
        'usr/local/lib/python3.11/site-packages/requests-2.28.1.egg-info/PKG-INFO',
        ['requests', '2.28.1', 'pkg:pypi/requests@2.28.1', '/usr/local/lib/python3.11/site-packages'],
      ],
      [
        'python/wsgiref.egg-info',
        'usr/lib/python2.7/wsgiref.egg-info',
        ['wsgiref', '0.1.2', 'pkg:pypi/wsgiref@0.1.2', '/usr/lib/python2.7'],
      ],
    ];
    for (const [file, imagePath, expected] of cases) {
      assert.deepEqual(rows(detect(pythonMetadataDetector, file, imagePath)), [expected]);
      // The same fields as Python's email parser (which importlib.metadata uses) reads them.
      const script =
        'import email,sys; m=email.message_from_bytes(open(sys.argv[1],"rb").read()); print(m["Name"]); print(m["Version"])';
      const { stdout } = await run('python3', ['-c', script, fixturePath(file)]);
      assert.deepEqual(stdout.trim().split('\n'), expected.slice(0, 2));
    }
  });

  it('recognises metadata files by path alone', () => {
    const yes = [
      'usr/lib/python3.12/site-packages/Django-4.2.dist-info/METADATA',
      'opt/venv/lib/python3.11/site-packages/foo.egg-info/PKG-INFO',
      'usr/lib/python2.7/lib-dynload/Python-2.7.18-py2.7.egg-info',
    ];
    const no = [
      'usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/RECORD',
      'app/METADATA',
      'app/PKG-INFO',
      'usr/lib/python3/dist-packages/.egg-info',
    ];
    for (const path of yes) assert.equal(pythonMetadataDetector.matches(path), true, path);
    for (const path of no) assert.equal(pythonMetadataDetector.matches(path), false, path);
  });

  it('reads every PyPI package of a real poetry.lock', async () => {
    const packages = detect(poetryLockDetector, 'python/poetry.lock', 'app/poetry.lock');
    const expected = (await tomlPackages('python/poetry.lock')).map((p) => `${p.name} ${p.version}`).sort();
    assert.equal(expected.length, 13);
    assert.deepEqual(nameVersions(packages), expected);
    assert.deepEqual(
      rows(packages).find((row) => row[0] === 'mypy-extensions'),
      ['mypy-extensions', '0.4.3', 'pkg:pypi/mypy-extensions@0.4.3', '/app/poetry.lock'],
    );
    assert.equal(poetryLockDetector.matches('usr/lib/python3/site-packages/foo/poetry.lock'), false);
  });

  it('reads the default and develop pins of a real Pipfile.lock', () => {
    const packages = detect(pipfileLockDetector, 'python/Pipfile.lock', 'srv/rsa/Pipfile.lock');
    // pyasn1 is the only default package; the rest are develop.
    const expected = [
      'alabaster 0.7.12',
      'appdirs 1.4.3',
      'atomicwrites 1.3.0',
      'attrs 19.3.0',
      'babel 2.8.0',
      'certifi 2020.4.5.1',
      'chardet 3.0.4',
      'coverage 5.1',
      'coveralls 1.5.0',
      'distlib 0.3.0',
      'docopt 0.6.2',
      'docutils 0.16',
      'filelock 3.0.12',
      'idna 2.9',
      'imagesize 1.2.0',
      'importlib-metadata 1.6.0',
      'importlib-resources 1.5.0',
      'jinja2 2.11.2',
      'markupsafe 1.1.1',
      'mock 2.0.0',
      'more-itertools 8.2.0',
      'packaging 20.3',
      'pathlib2 2.3.5',
      'pbr 5.4.5',
      'pluggy 0.13.1',
      'py 1.8.1',
      'pyasn1 0.4.4',
      'pygments 2.6.1',
      'pyparsing 2.4.7',
      'pytest 3.8.0',
      'pytest-cov 2.6.0',
      'pytz 2019.3',
      'requests 2.23.0',
      'six 1.14.0',
      'snowballstemmer 2.0.0',
      'sphinx 1.8.0',
      'sphinxcontrib-websupport 1.2.1',
      'toml 0.10.0',
      'tox 3.3.0',
      'urllib3 1.24.2',
      'virtualenv 20.0.18',
      'zipp 3.1.0',
    ].sort();
    assert.deepEqual(nameVersions(packages), expected);
    assert.ok(packages.every((p) => p.ecosystem === 'PyPI' && p.path === '/srv/rsa/Pipfile.lock'));
  });
});

describe('Ruby gems', { skip: missingTools('ruby') }, () => {
  it('reads the GEM specs of a real Gemfile.lock as Bundler does, one package per gem version', async () => {
    const packages = detect(gemfileLockDetector, 'ruby/Gemfile.lock', 'rails/Gemfile.lock');
    // Bundler's own lockfile parser, keeping the specs that come from a gem server.
    const gemfile = join(scratch, 'Gemfile');
    writeFileSync(gemfile, '');
    const script =
      'l = Bundler::LockfileParser.new(File.read(ARGV[0])); puts l.specs.select { |s| s.source.is_a?(Bundler::Source::Rubygems) }.map { |s| "#{s.name} #{s.version}" }.uniq';
    const { stdout } = await run('ruby', ['-rbundler', '-e', script, fixturePath('ruby/Gemfile.lock')], {
      env: { ...process.env, BUNDLE_GEMFILE: gemfile },
    });
    const expected = stdout
      .split('\n')
      .filter((line) => line !== '')
      .sort();
    assert.equal(expected.length, 216);
    assert.deepEqual(nameVersions(packages), expected);

    // nokogiri is locked for ruby, x86_64-darwin and x86_64-linux: one package, platform dropped.
    assert.deepEqual(
      rows(packages).filter((row) => row[0] === 'nokogiri'),
      [['nokogiri', '1.16.7', 'pkg:gem/nokogiri@1.16.7', '/rails/Gemfile.lock']],
    );
    // PATH (the application's own gems) and GIT checkouts are not rubygems.org releases.
    for (const name of ['rails', 'actionpack', 'httpclient', 'sdoc', 'websocket-client-simple']) {
      assert.ok(!packages.some((p) => p.name === name), name);
    }
    assert.equal(gemfileLockDetector.matches('usr/local/bundle/gems/rails-7.1.0/Gemfile.lock'), false);
  });

  it('reads installed gem specifications, default gems included', () => {
    const cases: [string, string, Row][] = [
      [
        'ruby/specifications/rack-2.2.22.gemspec',
        'usr/share/rubygems-integration/all/specifications/rack-2.2.22.gemspec',
        [
          'rack',
          '2.2.22',
          'pkg:gem/rack@2.2.22',
          '/usr/share/rubygems-integration/all/specifications/rack-2.2.22.gemspec',
        ],
      ],
      [
        'ruby/specifications/rexml-3.2.5.gemspec',
        'usr/lib/ruby/gems/3.1.0/specifications/rexml-3.2.5.gemspec',
        [
          'rexml',
          '3.2.5',
          'pkg:gem/rexml@3.2.5',
          '/usr/lib/ruby/gems/3.1.0/specifications/rexml-3.2.5.gemspec',
        ],
      ],
      [
        'ruby/specifications/default/cgi-0.3.5.gemspec',
        'usr/lib/ruby/gems/3.1.0/specifications/default/cgi-0.3.5.gemspec',
        [
          'cgi',
          '0.3.5',
          'pkg:gem/cgi@0.3.5',
          '/usr/lib/ruby/gems/3.1.0/specifications/default/cgi-0.3.5.gemspec',
        ],
      ],
    ];
    for (const [file, imagePath, expected] of cases) {
      assert.deepEqual(rows(detect(installedGemspecDetector, file, imagePath)), [expected]);
    }
    // A gem's own source gemspec is Ruby code, not RubyGems' generated specification.
    assert.equal(installedGemspecDetector.matches('usr/local/bundle/gems/rack-2.2.22/rack.gemspec'), false);
  });
});

describe('PHP packages', () => {
  it('reads packages and packages-dev of a real composer.lock, spelling versions as OSV does', () => {
    const packages = detect(composerLockDetector, 'php/composer.lock', 'var/www/html/composer.lock');
    assert.deepEqual(rows(packages), [
      [
        'squizlabs/php_codesniffer',
        '3.6.2',
        'pkg:composer/squizlabs/php_codesniffer@3.6.2',
        '/var/www/html/composer.lock',
      ],
      [
        'wp-cli/php-cli-tools',
        '0.11.13',
        'pkg:composer/wp-cli/php-cli-tools@0.11.13',
        '/var/www/html/composer.lock',
      ],
    ]);
    assert.equal(composerLockDetector.matches('var/www/html/vendor/acme/lib/composer.lock'), false);
    // An ECOSYSTEM range shaped as OSV's Packagist records write them orders the reported version.
    const range = { ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '0.11.14' }] }] };
    assert.equal(evaluateAffected(range, '0.11.13', 'Packagist').affected, true);
  });
});

describe('.NET packages', () => {
  it('reads the NuGet packages of a real deps.json and skips the project', () => {
    const path = '/app/ConsoleApp1.deps.json';
    assert.deepEqual(
      rows(detect(depsJsonDetector, 'dotnet/ConsoleApp1.deps.json', 'app/ConsoleApp1.deps.json')),
      [
        [
          'Microsoft.Extensions.DependencyInjection',
          '6.0.0',
          'pkg:nuget/Microsoft.Extensions.DependencyInjection@6.0.0',
          path,
        ],
        [
          'Microsoft.Extensions.DependencyInjection.Abstractions',
          '6.0.0',
          'pkg:nuget/Microsoft.Extensions.DependencyInjection.Abstractions@6.0.0',
          path,
        ],
        ['Newtonsoft.Json', '13.0.1', 'pkg:nuget/Newtonsoft.Json@13.0.1', path],
        [
          'System.Runtime.CompilerServices.Unsafe',
          '6.0.0',
          'pkg:nuget/System.Runtime.CompilerServices.Unsafe@6.0.0',
          path,
        ],
        ['System.Text.Encodings.Web', '6.0.0', 'pkg:nuget/System.Text.Encodings.Web@6.0.0', path],
        ['System.Text.Json', '6.0.5', 'pkg:nuget/System.Text.Json@6.0.5', path],
      ],
    );
    assert.equal(depsJsonDetector.matches('app/.deps.json'), false);
  });
});

describe('Rust crates', { skip: missingTools('python3') }, () => {
  const cratesIo = new Set([
    'registry+https://github.com/rust-lang/crates.io-index',
    'sparse+https://index.crates.io/',
  ]);

  it('reads the crates.io packages of real Cargo.lock files, old and new formats', async () => {
    for (const [file, count] of [
      ['rust/Cargo.lock', 15],
      ['rust/Cargo.v1.lock', 10],
    ] as const) {
      const packages = detect(cargoLockDetector, file, 'build/Cargo.lock');
      const expected = (await tomlPackages(file))
        .filter((p) => typeof p.source === 'string' && cratesIo.has(p.source))
        .map((p) => `${p.name} ${p.version}`)
        .sort();
      assert.equal(expected.length, count);
      assert.deepEqual(nameVersions(packages), expected);
      // The application crate itself has no source and is not a crates.io package.
      assert.ok(!packages.some((p) => p.name === 'guessing_game'));
    }
    const wasi = detect(cargoLockDetector, 'rust/Cargo.lock', 'build/Cargo.lock').find(
      (p) => p.name === 'wasi',
    );
    assert.equal(wasi?.purl, 'pkg:cargo/wasi@0.11.0%2Bwasi-snapshot-preview1');
  });

  it('finds nothing in a workspace whose crates are all local', () => {
    assert.deepEqual(detect(cargoLockDetector, 'rust/Cargo.workspace.lock', 'src/Cargo.lock'), []);
    assert.equal(
      cargoLockDetector.matches(
        'usr/local/cargo/registry/src/index.crates.io-6f17d22bba15001f/ripgrep-14.1.0/Cargo.lock',
      ),
      false,
    );
  });
});

describe('Go modules', { skip: missingTools('go') }, () => {
  it('parses require and replace directives as the go command does', async () => {
    for (const file of ['go/go.mod', 'go/cmd-go.mod']) {
      const { stdout } = await run('go', ['mod', 'edit', '-json', fixturePath(file)]);
      const goView = JSON.parse(stdout) as {
        Module: { Path: string };
        Require?: { Path: string; Version: string }[];
        Replace?: { Old: { Path: string; Version?: string }; New: { Path: string; Version?: string } }[];
      };
      const mine = parseGoMod(fixture(file).toString('utf8'));
      assert.equal(mine.module, goView.Module.Path);
      assert.deepEqual(
        mine.requires.map((r) => `${r.path} ${r.version}`),
        (goView.Require ?? []).map((r) => `${r.Path} ${r.Version}`),
      );
      assert.deepEqual(
        mine.replaces.map((r) => [r.old.path, r.old.version, r.new.path, r.new.version]),
        (goView.Replace ?? []).map((r) => [r.Old.Path, r.Old.Version, r.New.Path, r.New.Version]),
      );
    }
  });

  it('reports required modules after replacement, versions as OSV spells them', () => {
    const packages = detect(goModDetector, 'go/go.mod', 'src/study/go.mod');
    assert.equal(packages.length, 29);
    // `github.com/coreos/bbolt => go.etcd.io/bbolt v1.3.5` replaces the required v1.3.2.
    assert.ok(!packages.some((p) => p.name === 'github.com/coreos/bbolt'));
    const byName = new Map(rows(packages).map((row) => [row[0], row]));
    assert.deepEqual(byName.get('go.etcd.io/bbolt'), [
      'go.etcd.io/bbolt',
      '1.3.5',
      'pkg:golang/go.etcd.io/bbolt@v1.3.5',
      '/src/study/go.mod',
    ]);
    assert.deepEqual(byName.get('github.com/coreos/etcd'), [
      'github.com/coreos/etcd',
      '3.3.25+incompatible',
      'pkg:golang/github.com/coreos/etcd@v3.3.25%2Bincompatible',
      '/src/study/go.mod',
    ]);
    assert.deepEqual(byName.get('golang.org/x/net')?.slice(0, 3), [
      'golang.org/x/net',
      '0.0.0-20210119194325-5f4716e94777',
      'pkg:golang/golang.org/x/net@v0.0.0-20210119194325-5f4716e94777',
    ]);

    // OSV's Go records use SEMVER ranges without the `v`; the reported versions order against them.
    const range = {
      ranges: [
        { type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '0.0.0-20210226172049-e18ecbb05110' }] },
      ],
    };
    assert.equal(evaluateAffected(range, '0.0.0-20210119194325-5f4716e94777', 'Go').affected, true);
    assert.equal(evaluateAffected(range, '0.0.0-20210226172049-e18ecbb05110', 'Go').affected, false);
  });

  it('drops modules replaced by a directory and applies one-line replacements', () => {
    assert.deepEqual(rows(detect(goModDetector, 'go/a.mod', 'work/go.mod')), [
      ['github.com/apple/apple', '1.2.3', 'pkg:golang/github.com/apple/apple@v1.2.3', '/work/go.mod'],
      ['github.com/goo/bar', '1.1.0', 'pkg:golang/github.com/goo/bar@v1.1.0', '/work/go.mod'],
    ]);
  });

  it('names only application go.mod files and lowercases purls', () => {
    assert.equal(isApplicationGoMod('usr/local/go/src/cmd/go.mod'), true);
    assert.equal(isApplicationGoMod('go/pkg/mod/github.com/spf13/cobra@v1.8.0/go.mod'), false);
    assert.equal(isApplicationGoMod('src/app/vendor/github.com/x/y/go.mod'), false);
    assert.equal(isApplicationGoMod('usr/local/go/src/cmd/go/testdata/mod/go.mod'), false);
    assert.equal(
      golangPurl('github.com/Azure/azure-sdk-for-go', 'v68.0.0+incompatible'),
      'pkg:golang/github.com/azure/azure-sdk-for-go@v68.0.0%2Bincompatible',
    );
  });
});

describe('language file detectors', () => {
  const samples: [string, string][] = [
    ['python/PyYAML-6.0.dist-info/METADATA', 'usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA'],
    ['python/wsgiref.egg-info', 'usr/lib/python2.7/wsgiref.egg-info'],
    ['python/poetry.lock', 'app/poetry.lock'],
    ['python/Pipfile.lock', 'app/Pipfile.lock'],
    ['ruby/Gemfile.lock', 'app/Gemfile.lock'],
    ['ruby/specifications/rack-2.2.22.gemspec', 'var/lib/gems/3.1.0/specifications/rack-2.2.22.gemspec'],
    ['php/composer.lock', 'app/composer.lock'],
    ['dotnet/ConsoleApp1.deps.json', 'app/ConsoleApp1.deps.json'],
    ['rust/Cargo.lock', 'app/Cargo.lock'],
    ['go/go.mod', 'app/go.mod'],
  ];

  it('has one detector for each sample path, under distinct names', () => {
    assert.equal(new Set(fileDetectors.map((d) => d.name)).size, fileDetectors.length);
    for (const [, imagePath] of samples) {
      assert.equal(fileDetectors.filter((d) => d.matches(imagePath)).length, 1, imagePath);
    }
  });

  it('never throws on cut-off or garbage content, and reads nothing from garbage', () => {
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256));
    for (const [file, imagePath] of samples) {
      const detector = fileDetectors.find((d) => d.matches(imagePath));
      assert.ok(detector);
      const content = fixture(file);
      const whole = nameVersions(detector.parse(content, imagePath));
      for (const cut of [1, 2, 3]) {
        // A file cut off after a line yields a subset of the whole file's packages, never something new.
        const end = content.lastIndexOf(0x0a, Math.floor((content.length * cut) / 4)) + 1;
        const partial = nameVersions(detector.parse(content.subarray(0, end), imagePath));
        assert.ok(
          partial.every((entry) => whole.includes(entry)),
          `${file} cut at ${cut}/4`,
        );
      }
      assert.deepEqual(detector.parse(garbage, imagePath), [], file);
      assert.deepEqual(detector.parse(Buffer.alloc(0), imagePath), [], file);
    }
  });
});
