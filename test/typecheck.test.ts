// Strict TypeScript is part of the build: the whole tree must type-check.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('type-checks under strict settings (tsc --noEmit)', () => {
  const root = new URL('..', import.meta.url).pathname;
  const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', root], { encoding: 'utf8', timeout: 240_000 });
  expect(r.stdout + r.stderr).toBe('');
  expect(r.status).toBe(0);
}, 240_000);
