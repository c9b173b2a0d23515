#!/usr/bin/env node
// chdb lists one optional native package per platform. The package registry reachable here
// serves only the linux-x64 one, so `npm install` writes a lock without the others, and
// `npm ci` then refuses the lock as out of sync with chdb's optionalDependencies. This adds
// lock entries for the missing platforms (optional, with os/cpu set, so npm skips them on
// this platform and never fetches them). Run after any `npm install`: `npm run fix-lock`.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const chdb = lock.packages['node_modules/chdb'];
if (!chdb) process.exit(0);
const present = Object.keys(lock.packages).find((k) => k.startsWith('node_modules/@chdb/lib-'));
const version = present ? lock.packages[present].version : undefined;
if (!version) process.exit(0);
const platforms = {
  '@chdb/lib-darwin-arm64': { os: 'darwin', cpu: 'arm64' },
  '@chdb/lib-darwin-x64': { os: 'darwin', cpu: 'x64' },
  '@chdb/lib-linux-arm64-gnu': { os: 'linux', cpu: 'arm64', libc: 'glibc' },
  '@chdb/lib-linux-x64-gnu': { os: 'linux', cpu: 'x64', libc: 'glibc' },
};
chdb.optionalDependencies = Object.fromEntries(Object.keys(platforms).map((n) => [n, version]));
const out = {};
let added = 0;
for (const [k, v] of Object.entries(lock.packages)) {
  out[k] = v;
  if (k === present) {
    for (const [name, p] of Object.entries(platforms)) {
      const key = `node_modules/${name}`;
      if (lock.packages[key]) continue;
      out[key] = { version, cpu: [p.cpu], license: 'Apache-2.0', optional: true, os: [p.os], ...(p.libc ? { libc: [p.libc] } : {}) };
      added++;
    }
  }
}
lock.packages = out;
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`fix-lock: ${added} platform entr${added === 1 ? 'y' : 'ies'} added for chdb ${version}`);
