// The public face of shared/: what the gateway and the worker agree on.
export { loadConfig, type Config, type LogFormat, type LogLevel, type UploadStoreSetting } from './config.js';
export { WarrenError, PermanentError, ConfigError, ContractError, PublishError, MessageTooLargeError, ShutdownAbort, coerceError } from './errors.js';
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
  contract,
  TaskId,
  ProcessorName,
  Timestamp,
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
export {
  buildTopology,
  topologyFromConfig,
  topologySettings,
  eventRoutingKey,
  REVOCATION_RETENTION_MS,
  CELERY_EXCHANGE,
  CELERY_PIDBOX_EXCHANGE,
  type Topology,
  type TopologyOptions,
  type ExchangeSpec,
  type QueueSpec,
} from './topology.js';
export { assertTopology, assertQueueTopology, deleteTopology } from './topology-declare.js';
export { Broker, brokerFromConfig, type BrokerOptions } from './broker.js';
export { ACK, type ConsumeOutcome, type Consumer, type DeliveryContext, type MessageHandler } from './consumer.js';
export { taskEvent, taskMessage, publishTask, publishTaskEvent, deliveryEvent, publishDeliveryJob, publishDeliveryEvent } from './events.js';
export type { Processor, ProcessorContext, ProcessorDescriptor, FileSpec, ArtifactWriter, BatchSpec } from './processor.js';
export { s3ClientFor, s3Location, parseS3Location, uploadKeyPrefix } from './s3-client.js';
export { VOLUME_SCHEME, uploadDir, uploadFileName, artifactDir, toLocation, resolveLocation, safeFileName } from './volume.js';
export { BUILTIN_DESCRIPTORS, echoDescriptor } from './processors/catalog.js';
export { categorizeDescriptor } from './processors/categorize.js';
export { documentDescriptor, DOCUMENT_DEFAULT_PAGES, DOCUMENT_MAX_PAGES } from './processors/document.js';
export { icalDescriptor, ICAL_MAX_FILE_BYTES, ICAL_MAX_TODOS } from './processors/ical.js';
export { thumbnailDescriptor, THUMBNAIL_FITS, THUMBNAIL_FORMATS, THUMBNAIL_MAX_SIDE, type ThumbnailFit, type ThumbnailFormat } from './processors/thumbnail.js';
export { createUrlGuard, UrlRefused, type UrlGuard } from './url-guard.js';
export type { ApiKey } from './api-keys.js';
export { TASK_SECONDS_BUCKETS, MISNAMED_DEFAULT_METRICS, collectProcessMetrics } from './metrics.js';
export { loadProcessorDescriptors, loadProcessorDir, mergeProcessors } from './processors/load.js';
export { redactUrl } from './url-secrets.js';
export { storeKind, type StoreKind } from './store-url.js';
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
