// Summarise a .cpuprofile: self time per function and per file (top N), and total.
//   node bench/cpu-profile-top.mjs <file.cpuprofile> [N]
import { readFileSync } from 'node:fs';

const [file, nArg] = process.argv.slice(2);
const n = Number(nArg ?? 30);
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((x) => [x.id, x]));
const self = new Map();
const dt = p.timeDeltas;
for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (dt[i] ?? 0));
const fn = new Map();
const files = new Map();
let total = 0;
for (const [id, us] of self) {
  const cf = byId.get(id).callFrame;
  const url = cf.url.replace(/^.*node_modules\//, '~/').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/');
  const k = `${cf.functionName || '(anon)'} ${url}:${cf.lineNumber + 1}`;
  fn.set(k, (fn.get(k) ?? 0) + us);
  const f = url || cf.functionName;
  files.set(f, (files.get(f) ?? 0) + us);
  total += us;
}
const top = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, us]) => `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`).join('\n');
console.log(`total sampled ${(total / 1000).toFixed(0)} ms\n\n-- functions --\n${top(fn)}\n\n-- files --\n${top(files)}`);
