/** Java archives by file name: jars, web and enterprise archives, Jenkins plugins. */
const ARCHIVE_EXTENSIONS = ['.jar', '.war', '.ear', '.jpi', '.hpi'];

export function hasArchiveExtension(path: string): boolean {
  const lower = path.toLowerCase();
  return ARCHIVE_EXTENSIONS.some((extension) => lower.endsWith(extension));
}
