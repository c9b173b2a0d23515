// Schema Registry wrapper: registers our schemas with a Confluent Schema Registry and builds
// codecs with the registry's ids. Encoding stays on the compiled avsc type (synchronous, hot
// path); the registry is asked once per schema at start-up.
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { createCodec, enrichedPacketCodec, readSchema, type Codec, type EnrichedPacket } from './codec.ts';

export async function registryEnrichedCodec(url: string | undefined): Promise<Codec<EnrichedPacket>> {
  if (!url) return enrichedPacketCodec();
  const registry = new SchemaRegistry({ host: url });
  const schema = readSchema('enriched-packet');
  const { id } = await registry.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
    { subject: 'io.iov.pipeline.EnrichedPacket' },
  );
  return createCodec<EnrichedPacket>(schema, id);
}
