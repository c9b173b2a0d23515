// The page's TypeScript is checked apart (DOM library, no Node types): src/ui/client/tsconfig.json.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('the page type-checks under strict settings with the DOM library', () => {
  const root = new URL('../..', import.meta.url).pathname;
  const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', join(root, 'src/ui/client')], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.stdout + r.stderr).toBe('');
  expect(r.status).toBe(0);
}, 120_000);
