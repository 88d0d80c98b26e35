import type { StreamDetector } from '../language-package.ts';
import { elfDetector, elfSummaryNote } from './elf-detector.ts';
import { javaArchiveDetector, javaSummaryNotes } from './java-detector.ts';

export { elfDetector } from './elf-detector.ts';
export { javaArchiveDetector } from './java-detector.ts';

/**
 * The detectors of binaries and archives, in the order to ask them; their `matches` never both
 * accept one file (executables with an archive's name are left to the Java one).
 */
export const streamDetectors: readonly StreamDetector[] = [
  { ...javaArchiveDetector, notes: javaSummaryNotes },
  { ...elfDetector, notes: (summary) => [elfSummaryNote(summary)].filter((note) => note !== undefined) },
];
