#!/usr/bin/env node
// Runs Berth from its TypeScript sources (no build step): tsx compiles modules as they load.
// Blob I/O goes through libuv's thread pool; 4 threads (the default) starve concurrent pushes.
process.env.UV_THREADPOOL_SIZE ??= '16';
const { register } = await import('tsx/esm/api');
register();
await import('../src/cli/main.ts');
