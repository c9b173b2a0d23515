export {
  createCodec, enrichedPacketCodec, vehiclePacketCodec, readSchema, fixedIds, CodecError, SCHEMA_DIR,
  type Codec, type EnrichedPacket, type VehiclePacket,
} from './codec.ts';
export { registryEnrichedCodec } from './registry.ts';
