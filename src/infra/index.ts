export { infraUp, infraDown, infraStatus, statePath, plannedPartitions, type UpOptions, type ServiceStatus } from './local.ts';
export {
  startRedis, startClickHouse, startKafka, stopPid, isAlive, freePort, findBinary, InfraError,
  redisHealthy, clickhouseHealthy, kafkaHealthy,
  type RedisHandle, type ClickHouseHandle, type KafkaHandle,
} from './servers.ts';
export {
  startMosquitto, mosquittoHealthy, writeMosquittoAuth, reloadMosquitto, MQTT_TOPICS,
  type MosquittoHandle, type MosquittoOptions, type MqttServiceLogin,
} from './mosquitto.ts';
