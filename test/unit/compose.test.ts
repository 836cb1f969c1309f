import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * docker-compose.yml and its overrides in compose/, as Compose itself reads them. There is no
 * Docker engine here, but `docker-compose config` (Debian's docker-compose, installed by
 * scripts/install-debian-packages.sh) or `docker compose config` validates, merges and prints the
 * file without one. Skipped where neither is installed, except in CI.
 */
const root = path.resolve(import.meta.dirname, '../..');

function findCompose(): string[] | undefined {
  for (const command of [['docker-compose'], ['docker', 'compose']]) {
    if (spawnSync(command[0]!, [...command.slice(1), 'version'], { stdio: 'ignore' }).status === 0) return command;
  }
  return undefined;
}
const compose = findCompose();

interface Service {
  profiles?: string[];
  container_name?: string;
  hostname?: string;
  ports?: ({ target: number | string; published?: number | string } | string)[];
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  build?: { target?: string };
  user?: string;
  volumes?: (string | { source?: string; target: string })[];
}

/** The merged, interpolated configuration Compose would run, for these overrides and profiles. */
function config(overrides: string[] = [], profiles: string[] = []): Record<string, Service> {
  const args = [
    ...compose!.slice(1),
    ...profiles.flatMap((p) => ['--profile', p]),
    ...['docker-compose.yml', ...overrides].flatMap((f) => ['-f', f]),
    'config',
  ];
  const out = execFileSync(compose![0]!, args, { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  return (parse(out) as { services: Record<string, Service> }).services;
}

const targetPorts = (service: Service): number[] => (service.ports ?? []).map((p) => Number(typeof p === 'string' ? p.split(':').at(-1) : p.target));
const healthyDependencies = (service: Service): string[] =>
  Object.entries(service.depends_on ?? {})
    .filter(([, dependency]) => dependency.condition === 'service_healthy')
    .map(([name]) => name)
    .sort();

describe.skipIf(!compose && !process.env.CI)('docker-compose.yml', () => {
  it('is accepted, and without profiles runs rabbitmq, gateway and worker in order, each with a healthcheck', () => {
    const services = config();
    const always = Object.entries(services)
      .filter(([, service]) => !service.profiles?.length)
      .map(([name]) => name);
    expect(always.sort()).toEqual(['gateway', 'rabbitmq', 'worker']);
    expect(targetPorts(services.rabbitmq!).sort()).toEqual([15672, 15692, 5672]);
    expect(targetPorts(services.gateway!)).toEqual([5000]);
    expect(healthyDependencies(services.gateway!)).toEqual(['rabbitmq']);
    expect(healthyDependencies(services.worker!)).toEqual(['rabbitmq']);
    for (const name of always) expect(services[name]!.healthcheck?.test.length, name).toBeGreaterThan(0);
    expect(services.gateway!.healthcheck!.test.join(' ')).toContain('/prediction/health/ready');
    expect(services.worker!.healthcheck!.test.join(' ')).toContain(':9464/health/ready');
    expect([services.gateway!.build?.target, services.worker!.build?.target]).toEqual(['gateway', 'worker']);
    // Gateway and worker share the volume: uploads in, artifacts out.
    for (const name of ['gateway', 'worker']) expect(JSON.stringify(services[name]!.volumes)).toContain('/data');
  });

  it('lets the worker scale (--scale worker=4): no fixed container name, no host port', () => {
    const { worker } = config();
    expect(worker!.container_name).toBeUndefined();
    expect(worker!.ports ?? []).toEqual([]);
  });

  it('is accepted with every profile and override: PostgreSQL store, S3, and a 3-node cluster the apps fail over in', () => {
    const services = config(['compose/postgres.yml', 'compose/cluster.yml'], ['postgres', 's3', 'cluster']);
    expect(Object.keys(services).sort()).toEqual(['gateway', 'postgres', 'rabbitmq', 'rabbitmq-2', 'rabbitmq-3', 's3', 'worker', 'worker-python']);
    expect(services.gateway!.environment!.STORE_URL).toBe('postgres://warren:warren@postgres:5432/warren');
    expect(healthyDependencies(services.gateway!)).toEqual(['postgres', 'rabbitmq', 'rabbitmq-2', 'rabbitmq-3']);
    for (const name of ['gateway', 'worker']) {
      expect(services[name]!.environment!.AMQP_URL!.split(',')).toEqual(
        ['rabbitmq', 'rabbitmq-2', 'rabbitmq-3'].map((host) => `amqp://guest:guest@${host}:5672`),
      );
    }
    // Nodes join one after another, all with the same cookie and the cluster's peer discovery.
    expect(healthyDependencies(services['rabbitmq-2']!)).toEqual(['rabbitmq']);
    expect(healthyDependencies(services['rabbitmq-3']!)).toEqual(['rabbitmq-2']);
    const nodes = ['rabbitmq', 'rabbitmq-2', 'rabbitmq-3'].map((name) => services[name]!);
    expect(nodes.map((node) => node.hostname)).toEqual(['rabbitmq', 'rabbitmq-2', 'rabbitmq-3']);
    expect(new Set(nodes.map((node) => node.environment!.RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS)).size).toBe(1);
    for (const node of nodes) expect(JSON.stringify(node.volumes)).toContain('/etc/rabbitmq/conf.d/20-cluster.conf');
    for (const name of ['postgres', 's3']) expect(services[name]!.healthcheck?.test.length, name).toBeGreaterThan(0);
  });

  it('runs a Python worker under the python profile, on the shared volume, and lets the gateway read its descriptor', () => {
    const services = config([], ['python']);
    const python = services['worker-python']!;
    expect(python.profiles).toEqual(['python']);
    expect(healthyDependencies(python)).toEqual(['rabbitmq']);
    expect(JSON.stringify(python.volumes)).toContain('/data');
    expect(JSON.stringify(services.gateway!.volumes)).toContain('/processors/python-examples');
    const dockerfile = fs.readFileSync(path.join(root, 'worker/python/Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/python3-pika python3-torch/);
    expect(dockerfile).toMatch(/^USER warren$/m);
    expect(dockerfile).toContain('"-m", "warren_worker", "categorize_torch.processor"');
  });

  it('runs gateway and worker images as a user other than root', () => {
    const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).toMatch(/^USER node$/m);
    expect(dockerfile.match(/^FROM runtime AS (\w+)$/gm)).toEqual(['FROM runtime AS gateway', 'FROM runtime AS worker']);
  });
});
