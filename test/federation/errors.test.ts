// The error catalogue and docs/federation.md list the same codes with the same HTTP status.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FEDERATION_ERRORS, FederationError, type FederationErrorCode } from '../../src/federation/index.ts';

const doc = readFileSync(new URL('../../docs/federation.md', import.meta.url), 'utf8');

describe('federator error catalogue', () => {
  const documented = new Map<string, number>();
  for (const m of doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)) documented.set(m[1]!, Number(m[2]));

  it('every code is documented with its HTTP status, and nothing else is', () => {
    const cat = new Map(Object.entries(FEDERATION_ERRORS).map(([k, v]) => [k, v.status]));
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(cat));
  });

  it('errors carry code, status and the templated message', () => {
    for (const code of Object.keys(FEDERATION_ERRORS) as FederationErrorCode[]) {
      const e = new FederationError(code, 'detail');
      expect(e.code).toBe(code);
      expect(e.statusCode).toBe(FEDERATION_ERRORS[code].status);
      expect(e.message).toBe(FEDERATION_ERRORS[code].template.replace('%s', 'detail'));
    }
  });
});
