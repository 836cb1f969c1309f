// The public face of shared/: what the gateway and the worker agree on.
export { loadConfig, type Config, type LogFormat, type LogLevel, type UploadStoreSetting } from './config.js';
export { WarrenError, PermanentError, ConfigError, ContractError, PublishError, MessageTooLargeError, coerceError } from './errors.js';
export { createLogger, type Logger } from './logger.js';
export { TASK_STATUSES, TERMINAL_STATUSES, isTerminal, reduceTask, type TaskStatus, type Reduction, type TaskProgressState } from './states.js';
export {
  TaskMessage,
  TaskEvent,
  TaskInput,
  FileRef,
  FieldValue,
  TaskError,
  EVENT_STATUSES,
  TASK_MESSAGE_TYPE,
  TASK_EVENT_TYPE,
  taskMessages,
  taskEvents,
  RevocationSync,
  REVOCATION_SYNC_TYPE,
  revocationSyncs,
  isTaskId,
  type Contract,
  type EventStatus,
} from './contracts.js';
export {
  DeliveryTarget,
  DeliveryJob,
  DeliveryEvent,
  DELIVERY_JOB_TYPE,
  DELIVERY_EVENT_TYPE,
  DELIVERY_STATES,
  WEBHOOK_EVENTS,
  deliveryJobs,
  deliveryEvents,
  type DeliveryState,
  type WebhookEvent,
} from './delivery-contracts.js';
export { CeleryTaskHeaders, CeleryTaskBody, CeleryReply, CeleryRevoke } from './celery-contracts.js';
export { buildTopology, assertTopology, deleteTopology, eventRoutingKey, REVOCATION_RETENTION_MS, CELERY_EXCHANGE, CELERY_PIDBOX_EXCHANGE, type Topology, type TopologyOptions } from './topology.js';
export { Broker, ACK, brokerFromConfig, type BrokerOptions, type ConsumeOutcome, type Consumer, type DeliveryContext, type MessageHandler } from './broker.js';
export { taskEvent, taskMessage, publishTask, publishTaskEvent, deliveryEvent, publishDeliveryJob, publishDeliveryEvent } from './events.js';
export type { Processor, ProcessorContext, ProcessorDescriptor, FileSpec, ArtifactWriter, BatchSpec } from './processor.js';
export { s3ClientFor, s3Location, parseS3Location, uploadKeyPrefix } from './s3-client.js';
export { VOLUME_SCHEME, uploadDir, uploadFileName, artifactDir, toLocation, resolveLocation, safeFileName } from './volume.js';
export { BUILTIN_DESCRIPTORS, echoDescriptor } from './processors/catalog.js';
export { loadProcessorDescriptors, loadProcessorDir, mergeProcessors } from './processors/load.js';
export {
  openStore,
  redactUrl,
  StoreUnavailableError,
  StorageFullError,
  storeFaultOf,
  type StoreFault,
  type GuardedStore,
  type StoreHealth,
  type OpenStoreOptions,
  type DeliveryAttempt,
  type DeliveryRecord,
  type DeliveryStore,
  type RedeliverOutcome,
  type TaskStore,
  type TaskRecord,
  type TaskWithInput,
  type FinishedTask,
  type NewTask,
  type ApplyOutcome,
  type TaskQuery,
  type TaskCounts,
} from './store/index.js';
export { runService } from './service.js';
export {
  parseS3Destinations,
  parseFtpDestinations,
  redactDestination,
  describeDestination,
  type S3Destination,
  type FtpDestination,
  type Destination,
} from './destinations.js';
