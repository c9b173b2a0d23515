#!/usr/bin/env node
// The `iov` command. Runs the TypeScript sources directly through tsx's loader, so a fresh
// clone works right after `npm ci` with no build step.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/index.ts');
await main(process.argv);
