/** An installed OS package as a package database records it. */
export interface OsPackage {
  name: string;
  version: string;
  /** The source (origin) package, as advisories name it. */
  sourceName: string;
  sourceVersion: string;
  arch?: string;
  purl: string;
  /** Files the package owns, where the database lists them. */
  files?: string[];
}
