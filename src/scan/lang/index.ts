import type { FileDetector } from '../language-package.ts';
import { depsJsonDetector } from './dotnet.ts';
import { goModDetector } from './go-mod.ts';
import { composerLockDetector } from './php.ts';
import { pipfileLockDetector, poetryLockDetector, pythonMetadataDetector } from './python.ts';
import { gemfileLockDetector, installedGemspecDetector } from './ruby.ts';
import { cargoLockDetector } from './rust-lock.ts';

/** The language package detectors that read one small captured file each. */
export const fileDetectors: readonly FileDetector[] = [
  pythonMetadataDetector,
  poetryLockDetector,
  pipfileLockDetector,
  gemfileLockDetector,
  installedGemspecDetector,
  composerLockDetector,
  depsJsonDetector,
  cargoLockDetector,
  goModDetector,
];
