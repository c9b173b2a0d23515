// The segment processor's side of the Schema Registry (docs/schemas.md): before a batch goes
// to the pool, the writer schemas of the ids it carries that are not known yet are looked up
// in the registry (cached there, one request per id), and every learnt writer schema travels
// with the task so that each pool thread's decoder can read those messages into its reader
// schema. Without a registry nothing changes (the built-in id only).
import { fixedIds, TICK_SCHEMA_ID, writerSchemasFor, type PacketSchemaRegistry } from '../schemas/index.ts';
import type { PackedBatch } from './packed.ts';

export interface SegmentSchemas {
  registry: PacketSchemaRegistry;
  /** Writer schemas learnt so far, by id (a handful over a deployment's life). */
  writers: Record<number, string>;
}

export function segmentSchemas(registry: PacketSchemaRegistry | undefined): SegmentSchemas | undefined {
  return registry ? { registry, writers: {} } : undefined;
}

const FIXED_ID = fixedIds()['io.iov.pipeline.EnrichedPacket']!;

/** The writer schemas a task needs (undefined when the built-in one is enough). */
export async function writerSchemasForBatch(schemas: SegmentSchemas | undefined, msgs: Pick<PackedBatch, 'data' | 'ends'>): Promise<Record<number, string> | undefined> {
  if (!schemas) return undefined;
  const fresh = await writerSchemasFor(schemas.registry, msgs.data, msgs.ends, (id) => id === FIXED_ID || id === TICK_SCHEMA_ID || id in schemas.writers);
  Object.assign(schemas.writers, fresh);
  return Object.keys(schemas.writers).length > 0 ? schemas.writers : undefined;
}
