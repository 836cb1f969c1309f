/**
 * Writes rabbitmq/definitions.json from the same `topologyFromConfig` the gateway and worker declare on
 * every connect, so the file an operator inspects (and the Docker image preloads) cannot drift
 * from the code. test/unit/definitions.test.ts fails when the committed file is stale.
 *
 *   npx tsx scripts/generate-definitions.ts            # rewrite rabbitmq/definitions.json
 *   npx tsx scripts/generate-definitions.ts --stdout   # print it instead
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BUILTIN_DESCRIPTORS, loadConfig, topologyFromConfig } from '../shared/index.js';

export const DEFINITIONS_PATH = fileURLToPath(new URL('../rabbitmq/definitions.json', import.meta.url));

const VHOST = '/';

/**
 * Loading definitions at boot makes RabbitMQ skip creating its default vhost and guest user, so
 * the file carries them. guest/guest is the well-known local default (production replaces it);
 * the salt is fixed only so that the output is reproducible.
 */
export function guestPasswordHash(password = 'guest', salt = Buffer.from('7761726e', 'hex')): string {
  const digest = createHash('sha256')
    .update(Buffer.concat([salt, Buffer.from(password, 'utf8')]))
    .digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

export function buildDefinitions() {
  // Defaults, never the caller's environment: the file describes the default deployment.
  const config = loadConfig({});
  const topology = topologyFromConfig(
    config,
    BUILTIN_DESCRIPTORS.map((descriptor) => descriptor.name),
  );
  const { exchanges, queues } = topology.declare;

  return {
    users: [
      {
        name: 'guest',
        password_hash: guestPasswordHash(),
        hashing_algorithm: 'rabbit_password_hashing_sha256',
        tags: ['administrator'],
        limits: {},
      },
    ],
    vhosts: [{ name: VHOST }],
    permissions: [{ user: 'guest', vhost: VHOST, configure: '.*', write: '.*', read: '.*' }],
    exchanges: exchanges.map((exchange) => ({
      name: exchange.name,
      vhost: VHOST,
      type: exchange.type,
      durable: exchange.options.durable ?? true,
      auto_delete: exchange.options.autoDelete ?? false,
      internal: exchange.options.internal ?? false,
      arguments: exchange.options.arguments ?? {},
    })),
    queues: queues.map((queue) => ({
      name: queue.name,
      vhost: VHOST,
      durable: queue.options.durable ?? true,
      auto_delete: queue.options.autoDelete ?? false,
      arguments: queue.options.arguments ?? {},
    })),
    bindings: queues.flatMap((queue) =>
      queue.bindings.map((binding) => ({
        source: binding.exchange,
        vhost: VHOST,
        destination: queue.name,
        destination_type: 'queue',
        routing_key: binding.pattern,
        arguments: {},
      })),
    ),
  };
}

export function renderDefinitions(): string {
  return `${JSON.stringify(buildDefinitions(), null, 2)}\n`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--stdout')) {
    process.stdout.write(renderDefinitions());
  } else {
    writeFileSync(DEFINITIONS_PATH, renderDefinitions());
    console.log(`wrote ${DEFINITIONS_PATH}`);
  }
}
