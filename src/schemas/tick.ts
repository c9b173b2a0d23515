// Watermark ticks (docs/segment.md, "Quiet partitions"): a small Avro record under its own
// fixed schema id, written by the gateways into quiet partitions of the segment topics so
// that a window's close is decided by the log's contents and replays identically. The id is
// reserved (schemas/ids.json) and never registered: a consumer recognises a tick by the id in
// the Confluent framing before it decodes anything else.
import { createCodec, fixedIds, SCHEMA_DIR, type Codec } from './codec.ts';
import { readFileSync } from 'node:fs';
import type avro from 'avsc';

export interface WatermarkTick {
  /** Epoch ms the partition's watermark moves to (never back). */
  ts: number;
  gatewayId: string;
}

export const TICK_SCHEMA_ID = fixedIds()['io.iov.pipeline.WatermarkTick']!;

let codec: Codec<WatermarkTick> | undefined;

export function tickCodec(): Codec<WatermarkTick> {
  codec ??= createCodec<WatermarkTick>(JSON.parse(readFileSync(`${SCHEMA_DIR}watermark-tick.avsc`, 'utf8')) as avro.Schema, TICK_SCHEMA_ID);
  return codec;
}

/** Is this framed message a watermark tick (by its schema id alone)? */
export function isTick(buf: Uint8Array): boolean {
  return buf.length >= 5 && buf[0] === 0 && ((buf[1]! << 24) | (buf[2]! << 16) | (buf[3]! << 8) | buf[4]!) === TICK_SCHEMA_ID;
}
