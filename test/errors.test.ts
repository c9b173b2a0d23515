// Every error catalogue (all made by src/errors.ts) against the table in its component's doc:
// every code documented once with its HTTP status ("—" for item-level codes), nothing
// documented that does not exist (fastify test/internals/errors.test.js style). Codes are
// unique within a component (the gateway's and the federator's BAD_REQUEST are two answers of
// two servers, both stable).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CABIN_ERRORS } from '../src/cabin/index.ts';
import { defineErrors, type ErrorDef } from '../src/errors.ts';
import { FEDERATION_ERRORS } from '../src/federation/index.ts';
import { MQTT_ERRORS, PACKET_ERRORS, REQUEST_ERRORS } from '../src/gateway/index.ts';
import { SCHEMA_ERRORS } from '../src/schemas/index.ts';
import { SEGMENT_ERRORS } from '../src/segment/index.ts';
import { UI_ERRORS } from '../src/ui/index.ts';
import { TOPOLOGY_ERRORS } from '../src/topology/index.ts';

const catalogues: [doc: string, errors: Record<string, ErrorDef>][] = [
  ['gateway', { ...PACKET_ERRORS, ...REQUEST_ERRORS }],
  ['segment', SEGMENT_ERRORS],
  ['federation', FEDERATION_ERRORS],
  ['cabin', CABIN_ERRORS],
  ['mqtt', MQTT_ERRORS],
  ['schemas', SCHEMA_ERRORS],
  ['ui', UI_ERRORS],
  ['foundation', TOPOLOGY_ERRORS],
];

/** code → status ("—" for none) from the rows after the doc's first "Error…" heading. */
function documented(doc: string): Record<string, string> {
  const text = readFileSync(new URL(`../docs/${doc}.md`, import.meta.url), 'utf8');
  const from = text.search(/^#+ .*Error/m);
  expect(from, `docs/${doc}.md has an error heading`).toBeGreaterThan(0);
  const rows = [...text.slice(from).matchAll(/^\| `([A-Z][A-Z0-9_]+)` \| (\d{3}|—) \|/gm)];
  const codes = rows.map((m) => m[1]!);
  expect(codes.filter((c, i) => codes.indexOf(c) !== i), `codes listed twice in docs/${doc}.md`).toEqual([]);
  return Object.fromEntries(rows.map((m) => [m[1]!, m[2]!]));
}

describe('error catalogues and their docs', () => {
  for (const [doc, errors] of catalogues) {
    it(`docs/${doc}.md lists every code with its status, and only those`, () => {
      const expected = Object.fromEntries(Object.entries(errors).map(([code, def]) => [code, def.status === null ? '—' : String(def.status)]));
      expect(documented(doc)).toEqual(expected);
    });
  }

  it("the gateway's packet and request codes are apart", () => {
    expect(Object.keys(PACKET_ERRORS).filter((c) => c in REQUEST_ERRORS)).toEqual([]);
  });

  it('defineErrors fills templates in order and carries code, status and retriable', () => {
    const errors = defineErrors('TestError', {
      T_BUSY: { status: 503, retriable: true, message: 'busy for %s s at %s' },
      T_ITEM: { status: null, retriable: false, message: 'bad item' },
    });
    const e = new errors.Base('T_BUSY', [3, undefined], { cause: 'x' });
    expect([e.name, e.code, e.statusCode, e.retriable, e.message, e.cause]).toEqual(['TestError', 'T_BUSY', 503, true, 'busy for 3 s at ', 'x']);
    expect(errors.catalogue.T_ITEM).toEqual({ code: 'T_ITEM', status: null, retriable: false, message: 'bad item' });
    expect(new errors.Base('T_ITEM').statusCode).toBe(0);
    expect(() => defineErrors('Bad', { lower: { status: 400, retriable: false, message: '' } })).toThrow('error code lower must be UPPER_SNAKE');
  });
});
