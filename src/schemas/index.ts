export {
  createCodec, enrichedPacketCodec, vehiclePacketCodec, readSchema, fixedIds, CodecError, SCHEMA_DIR,
  type Codec, type EnrichedPacket, type VehiclePacket,
} from './codec.ts';
export {
  connectSchemaRegistry, registerPacketSchemas, fixedPacketSchemaIds, createResolvingDecoder, writerSchemasFor,
  SchemaRegistryError, SCHEMA_ERRORS, PACKET_SUBJECTS, COMPATIBILITY,
  type PacketSchemaRegistry, type PacketSchemaIds, type ResolvingDecoder, type SchemaErrorCode,
} from './registry.ts';
export { tickCodec, isTick, TICK_SCHEMA_ID, type WatermarkTick } from './tick.ts';
