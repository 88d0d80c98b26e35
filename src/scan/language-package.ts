import type { Readable } from 'node:stream';

/** OSV ecosystem names of the language package managers the scanner reads. */
export type LanguageEcosystem =
  | 'npm'
  | 'PyPI'
  | 'Go'
  | 'Maven'
  | 'crates.io'
  | 'RubyGems'
  | 'Packagist'
  | 'NuGet';

/** A language package found in an image, named as OSV advisories name it. */
export interface LanguagePackage {
  ecosystem: LanguageEcosystem;
  /** Maven: `groupId:artifactId`; Go: the module path; PyPI: the name as published. */
  name: string;
  version: string;
  purl: string;
  /**
   * Absolute image path of where the package is installed, or of the file that pins it
   * (a lockfile, a binary, a jar; a nested jar as `outer.jar!/inner.jar`).
   */
  path: string;
}

/** Reads packages from one small file whose whole content the layer walker captures. */
export interface FileDetector {
  readonly name: string;
  /** Decided from the image path alone (no leading `/`). */
  matches(path: string): boolean;
  /** A bigger file is not read; the report notes it. */
  readonly maxBytes: number;
  /** `imagePath` has no leading `/`. Never throws on bad content: returns what it could read. */
  parse(content: Buffer, imagePath: string): LanguagePackage[];
}

export interface ExtractContext {
  /** Image path of the file, no leading `/`. */
  path: string;
  /** Size from the tar header (the stream may still end early or run long). */
  size: number;
  /** A directory private to this scan; anything written there is removed after the scan. */
  tempDir: string;
}

/**
 * Reads packages from a file too big to capture (binaries, archives) while its bytes stream
 * past once. `extract` returns a compact summary the walker keeps in the file's place (so later
 * layers can still replace or delete it), and `parse` turns that summary into packages.
 */
export interface StreamDetector {
  readonly name: string;
  /** Decided from path, tar header size and mode, before any content is read. */
  matches(path: string, size: number, mode: number): boolean;
  /**
   * Consumes as much of `content` as it needs (the walker drains the rest). Resolves undefined
   * when the file holds nothing for this detector. Rejects only on an unreadable stream.
   */
  extract(content: Readable, context: ExtractContext): Promise<Buffer | undefined>;
  parse(summary: Buffer, imagePath: string): LanguagePackage[];
  /** What the summary says could not be read (an old format, a limit reached), for the report. */
  notes?(summary: Buffer): string[];
}
