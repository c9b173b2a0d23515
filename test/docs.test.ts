// The documentation, executed: the README's table of environment variables names every
// variable the code reads, and the gateway's "Running it" example runs as written (issue 17:
// its fixed timestamp went stale and the example got a 422). The example is taken from
// docs/gateway.md and only re-pointed at this test run: the shared servers' state folder, a
// free port, and a copy of the topology whose segment ids are this run's own (so its topics
// are too).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { infra, randomName } from './helpers/index.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) return sources(rel);
    return /\.(ts|mts|mjs|js)$/.test(name) ? [rel] : [];
  });
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('README: environment variables', () => {
  it('the table lists every IOV_ variable the code reads, and only those', () => {
    const used = new Set<string>();
    for (const file of [...sources('src'), ...sources('bench'), ...sources('bin'), 'test/helpers/global-setup.ts', 'vitest.config.ts']) {
      // Read from the environment: env.X, env['X'], a 'X' name looked up in a table, or $X in help text.
      for (const m of read(file).matchAll(/(?:env\.|env\[['"]|['"]|\$)(IOV_[A-Z0-9_]+)/g)) used.add(m[1]!);
    }
    const readme = read('README.md');
    const table = readme.slice(readme.indexOf('## Environment variables'));
    const documented = new Set([...table.matchAll(/^\| ([^|]+) \|/gm)].flatMap((m) => [...m[1]!.matchAll(/`(IOV_[A-Z0-9_]+)`/g)].map((x) => x[1]!)));
    expect([...documented].sort()).toEqual([...used].sort());
  });
});

describe('docs and sources', () => {
  it('hold no merge conflict markers', () => {
    const files = [...sources('src'), ...sources('test'), 'README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    expect(files.filter((f) => /^(<{7}|>{7}) /m.test(read(f)))).toEqual([]);
  });
});

describe('docs/gateway.md: the "Running it" example', () => {
  it('runs as written: the gateway starts and acknowledges the curl request', async () => {
    const doc = read('docs/gateway.md');
    const block = doc.slice(doc.indexOf('## Running it')).match(/```\n([\s\S]*?)```/)![1]!;
    const lines = block.split('\n').map((l) => l.replace(/\s+#.*$/, '')).join('\n').replace(/\\\n\s*/g, '').split('\n').filter(Boolean);
    const gatewayLine = lines.find((l) => / iov gateway /.test(l))!;
    const curlLine = lines.find((l) => l.startsWith('curl '))!;
    expect(lines[0]).toBe('iov infra up'); // the test's servers stand in for it

    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'iov-docs-'));
    const topo = join(dir, 'topology.yaml');
    const suffix = randomName('d').replace(/[^a-z0-9]/g, '').slice(-8);
    writeFileSync(topo, read('infra/topology/shanghai.yaml').replace(/\b(north|central|south)\b/g, `$1-${suffix}`));
    const env = { ...process.env, IOV_STATE_DIR: infra().root, IOV_LOG_LEVEL: 'info' };
    const [, keys, ...args] = gatewayLine.match(/^IOV_API_KEYS="([^"]+)" iov (.*)$/)!.flatMap((x, i) => (i === 2 ? x.split(' ') : [x]));
    const cmd = args.map((a) => (a === 'infra/topology/shanghai.yaml' ? topo : a === '8080' ? String(port) : a));
    const gw = spawn(process.execPath, [join(ROOT, 'bin/iov.mjs'), ...cmd], { cwd: ROOT, env: { ...env, IOV_API_KEYS: keys! } });
    try {
      let out = '';
      let err = '';
      gw.stderr.on('data', (d: Buffer) => (err += d.toString()));
      await new Promise<void>((resolve, reject) => {
        const seen = (d: Buffer) => {
          out += d.toString();
          if (out.includes('gateway listening on')) resolve();
        };
        gw.stdout.on('data', seen);
        gw.stderr.on('data', seen);
        gw.on('exit', (code) => reject(new Error(`gateway exited ${code}: ${err}`)));
      });
      const curl = spawnSync('bash', ['-c', `${curlLine.replace('localhost:8080', `127.0.0.1:${port}`)} -s -w '\\n%{http_code}'`], { encoding: 'utf8', env, timeout: 30_000 });
      const [body, status] = curl.stdout.trim().split('\n');
      expect(status, `${curl.stdout} ${curl.stderr}`).toBe('200');
      const res = JSON.parse(body!) as { accepted: number; duplicates: number; rejected: unknown[] };
      expect(res.rejected).toEqual([]);
      expect(res.accepted + res.duplicates).toBe(1);
    } finally {
      gw.kill('SIGTERM');
      await new Promise((r) => gw.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
