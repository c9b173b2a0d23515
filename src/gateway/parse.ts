// Request bodies -> a list of items for the ingest core.
//  application/json: an array of packets, or one packet object (a one-element list).
//    Invalid JSON fails the whole request (MALFORMED_JSON): nothing can be salvaged safely.
//  application/x-ndjson: one packet per line; blank lines are ignored. A line that is not
//    valid JSON is rejected alone (MALFORMED_LINE) and the other lines still go through.
//  Item indexes are positions in that list (for NDJSON: among the non-blank lines).
import { GatewayError, kindOf } from './errors.ts';
import { MalformedLine } from './ingest.ts';

function reason(err: unknown): string {
  return (err as Error).message.slice(0, 200);
}

export function parseJsonBody(body: string, maxPackets: number): unknown[] {
  if (body.trim() === '') throw new GatewayError('EMPTY_BODY');
  let doc: unknown;
  try {
    // Plain JSON.parse: a "__proto__" key becomes an own property, never a prototype; the
    // validator copies only known fields into a fresh object, so no pollution can happen.
    doc = JSON.parse(body);
  } catch (err) {
    throw new GatewayError('MALFORMED_JSON', [reason(err)]);
  }
  if (Array.isArray(doc)) {
    if (doc.length > maxPackets) throw new GatewayError('TOO_MANY_PACKETS', [maxPackets]);
    if (doc.length === 0) throw new GatewayError('EMPTY_BODY');
    return doc;
  }
  if (doc !== null && typeof doc === 'object') return [doc];
  throw new GatewayError('INVALID_BODY', [kindOf(doc)]);
}

export function parseNdjsonBody(body: string, maxPackets: number): unknown[] {
  const items: unknown[] = [];
  let start = 0;
  const n = body.length;
  while (start <= n) {
    let end = body.indexOf('\n', start);
    if (end === -1) end = n;
    let line = body.slice(start, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    start = end + 1;
    if (line.trim() === '') continue;
    if (items.length === maxPackets) throw new GatewayError('TOO_MANY_PACKETS', [maxPackets]);
    try {
      items.push(JSON.parse(line));
    } catch (err) {
      items.push(new MalformedLine(reason(err)));
    }
  }
  if (items.length === 0) throw new GatewayError('EMPTY_BODY');
  return items;
}
