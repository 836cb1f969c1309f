import type { TSchema } from '@sinclair/typebox';
import type { ExchangeSpec, QueueSpec } from '../../shared/index.js';

/** The pieces of the AsyncAPI document every section writes alike (gateway/docs/asyncapi.ts, asyncapi-celery.ts). */
export type Json = Record<string, unknown>;

export const BINDING_VERSION = '0.3.0';
export const VHOST = '/';
/** AMQP delivery mode of everything warren publishes but pidbox commands: persistent. */
export const PERSISTENT = 2;

/** A TypeBox schema as plain JSON Schema: the JSON round trip drops TypeBox's symbol keys. */
export function toJsonSchema(schema: TSchema): Json {
  return JSON.parse(JSON.stringify(schema)) as Json;
}

/** A message component whose payload is the contract schema of the same name. */
export function jsonMessage(name: string, title: string, messageType: string): Json {
  return {
    name,
    title,
    contentType: 'application/json',
    payload: { $ref: `#/components/schemas/${name}` },
    bindings: { amqp: { messageType, bindingVersion: BINDING_VERSION } },
  };
}

export function exchangeBinding(spec: ExchangeSpec): Json {
  return {
    is: 'routingKey',
    exchange: { name: spec.name, type: spec.type, durable: spec.options.durable ?? true, autoDelete: spec.options.autoDelete ?? false, vhost: VHOST },
    bindingVersion: BINDING_VERSION,
  };
}

/**
 * A queue as a channel. The AMQP binding has no place for queue arguments (quorum type, delivery
 * limit, overflow...), so they travel as an extension, with the queue's exchange bindings.
 */
export function queueChannel(spec: QueueSpec): Json {
  return {
    address: spec.name,
    bindings: {
      amqp: {
        is: 'queue',
        queue: {
          name: spec.name,
          durable: spec.options.durable ?? true,
          exclusive: spec.options.exclusive ?? false,
          autoDelete: spec.options.autoDelete ?? false,
          vhost: VHOST,
        },
        bindingVersion: BINDING_VERSION,
      },
    },
    'x-queue-arguments': spec.options.arguments ?? {},
    'x-bound-to': spec.bindings.map(({ exchange, pattern }) => ({ exchange, routingKey: pattern })),
  };
}

export function find<T extends { name: string }>(specs: readonly T[], name: string): T {
  const spec = specs.find((candidate) => candidate.name === name);
  if (!spec) throw new Error(`topology has no ${name}`);
  return spec;
}
