import type { LanguagePackage, StreamDetector } from '../language-package.ts';
import type { Crate } from './cargo-auditable.ts';
import { scanElf } from './elf-scan.ts';
import { type GoModules, goToolchainVersion, parseModinfo } from './go-buildinfo.ts';
import { hasArchiveExtension } from './java-archive-names.ts';
import { cargoPurl, golangPurl, imageFilePath } from './language-purls.ts';

/** What the walker keeps in an ELF file's place: the packages' raw facts, as JSON. */
interface ElfSummary {
  go?: { toolchain: string; modules: GoModules };
  crates?: Crate[];
  /** Why the file's packages could not be read, for the scan's notes. */
  note?: string;
}

/** The smallest ELF header; anything shorter is not worth opening. */
const MIN_ELF_BYTES = 52;
const ANY_EXECUTE_BIT = 0o111;

/**
 * One detector for ELF executables: Go's build information and cargo-auditable's Rust
 * dependency list in a single pass. It reads files with an execute bit, since Go and Rust
 * programs are installed executable; archives that happen to be executable go to the Java one.
 */
export const elfDetector: StreamDetector = {
  name: 'elf-binary',
  matches(path, size, mode) {
    return (mode & ANY_EXECUTE_BIT) !== 0 && size >= MIN_ELF_BYTES && !hasArchiveExtension(path);
  },
  async extract(content, context) {
    const found = await scanElf(content, context.tempDir);
    if (!found) return undefined;
    let summary: ElfSummary;
    if (found.go?.format === 'inline') {
      summary = { go: { toolchain: found.go.goVersion, modules: parseModinfo(found.go.modinfo) } };
    } else if (found.go) {
      summary = { note: `/${context.path}: Go build information of Go before 1.18 is not read` };
    } else if (found.crates) {
      summary = { crates: found.crates };
    } else {
      return undefined;
    }
    return Buffer.from(JSON.stringify(summary));
  },
  parse(summary, imagePath) {
    const parsed = readSummary(summary);
    if (!parsed) return [];
    const path = imageFilePath(imagePath);
    const packages: LanguagePackage[] = [];
    if (parsed.go) {
      const stdlib = goToolchainVersion(parsed.go.toolchain);
      if (stdlib) {
        packages.push({
          ecosystem: 'Go',
          name: 'stdlib',
          version: stdlib,
          purl: golangPurl('stdlib', stdlib),
          path,
        });
      }
      const { main, deps } = parsed.go.modules;
      for (const module of main ? [main, ...deps] : deps) {
        packages.push({
          ecosystem: 'Go',
          name: module.path,
          // OSV's Go records write versions without the `v`; the purl keeps Go's spelling.
          version: module.version.replace(/^v/, ''),
          purl: golangPurl(module.path, module.version),
          path,
        });
      }
    }
    for (const crate of parsed.crates ?? []) {
      packages.push({
        ecosystem: 'crates.io',
        name: crate.name,
        version: crate.version,
        purl: cargoPurl(crate.name, crate.version),
        path,
      });
    }
    return packages;
  },
};

function readSummary(summary: Buffer): ElfSummary | undefined {
  try {
    return JSON.parse(summary.toString('utf8')) as ElfSummary;
  } catch {
    return undefined;
  }
}

/** The note an ELF summary carries (a binary whose packages could not be read), if any. */
export function elfSummaryNote(summary: Buffer): string | undefined {
  return readSummary(summary)?.note;
}
