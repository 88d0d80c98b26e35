import { buildCli } from './index.ts';

await buildCli().parseAsync(process.argv);
