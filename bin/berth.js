#!/usr/bin/env node
// The berth command. Runs the bundle in dist/ (built by `npm ci`, `npm start` and `npm run build`
// in well under a second); in a checkout that has not been built it runs the TypeScript sources
// through tsx instead.
import { existsSync } from 'node:fs';

// Blob I/O goes through libuv's thread pool; 4 threads (the default) starve concurrent pushes.
process.env.UV_THREADPOOL_SIZE ??= '16';
process.setSourceMapsEnabled(true);

const bundle = new URL('../dist/berth.js', import.meta.url);
if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
