import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LanguagePackage, StreamDetector } from '../language-package.ts';
import { readJavaArchive, spoolToFile } from './java-archive.ts';
import { hasArchiveExtension } from './java-archive-names.ts';
import { imageFilePath, mavenPurl } from './language-purls.ts';

/** What the walker keeps in a Java archive's place: `[groupId, artifactId, version, inner]` rows. */
interface JavaSummary {
  packages: [string, string, string, string][];
  notes?: string[];
}

/** The end-of-central-directory record alone is 22 bytes: nothing smaller is a zip. */
const MIN_ZIP_BYTES = 22;
/** Archives are spooled to disk for random access; one past this is not read. */
const MAX_ARCHIVE_BYTES = 2 * 1024 * 1024 * 1024;

/**
 * Maven packages of Java archives (`.jar`, `.war`, `.ear`, Jenkins' `.jpi`/`.hpi`), decided
 * by the file name. A zip needs random access, so the archive is spooled to the scan's temp
 * directory, read with its nested archives, and deleted.
 */
export const javaArchiveDetector: StreamDetector = {
  name: 'java-archive',
  matches(path, size) {
    return size >= MIN_ZIP_BYTES && hasArchiveExtension(path);
  },
  async extract(content, context) {
    if (context.size > MAX_ARCHIVE_BYTES) {
      return summaryOf({
        packages: [],
        notes: [`/${context.path} is larger than ${MAX_ARCHIVE_BYTES} bytes and was not read`],
      });
    }
    const file = join(context.tempDir, `archive-${randomUUID()}.zip`);
    try {
      if (!(await spoolToFile(content, file, MAX_ARCHIVE_BYTES))) {
        return summaryOf({
          packages: [],
          notes: [`/${context.path} is larger than ${MAX_ARCHIVE_BYTES} bytes and was not read`],
        });
      }
      const name = context.path.slice(context.path.lastIndexOf('/') + 1);
      const found = await readJavaArchive(file, name, context.tempDir);
      const seen = new Set<string>();
      const packages: JavaSummary['packages'] = [];
      for (const { groupId, artifactId, version, inner } of found.packages) {
        const row: [string, string, string, string] = [groupId, artifactId, version, inner];
        const key = row.join('\u0000');
        if (seen.has(key)) continue;
        seen.add(key);
        packages.push(row);
      }
      const notes = found.notes.map((note) => `/${context.path}: ${note}`);
      if (packages.length === 0 && notes.length === 0) return undefined;
      return summaryOf(notes.length > 0 ? { packages, notes } : { packages });
    } finally {
      await rm(file, { force: true });
    }
  },
  parse(summary, imagePath) {
    const parsed = readSummary(summary);
    const path = imageFilePath(imagePath);
    return (parsed?.packages ?? []).map(
      ([groupId, artifactId, version, inner]): LanguagePackage => ({
        ecosystem: 'Maven',
        name: `${groupId}:${artifactId}`,
        version,
        purl: mavenPurl(groupId, artifactId, version),
        path: `${path}${inner}`,
      }),
    );
  },
};

const summaryOf = (summary: JavaSummary): Buffer => Buffer.from(JSON.stringify(summary));

function readSummary(summary: Buffer): JavaSummary | undefined {
  try {
    return JSON.parse(summary.toString('utf8')) as JavaSummary;
  } catch {
    return undefined;
  }
}

/** The notes a Java archive summary carries (limits hit, unreadable archives). */
export function javaSummaryNotes(summary: Buffer): string[] {
  return readSummary(summary)?.notes ?? [];
}
