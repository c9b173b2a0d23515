export {
  infraUp, infraDown, infraStatus, statePath, LOCAL_KAFKA_PARTITION_LIMIT,
  type UpOptions, type ServiceStatus, type InfraStatus, type DownReport,
} from './local.ts';
export {
  startRedis, startClickHouse, startKafka, stopPid, isAlive, freePort, findBinary, InfraError,
  redisHealthy, clickhouseHealthy, kafkaHealthy,
  type RedisHandle, type ClickHouseHandle, type KafkaHandle,
} from './servers.ts';
export {
  startMosquitto, mosquittoHealthy, writeMosquittoAuth, reloadMosquitto, MQTT_TOPICS,
  type MosquittoHandle, type MosquittoOptions, type MqttServiceLogin,
} from './mosquitto.ts';
