import net from 'node:net';

/** Free local ports for processes and RabbitMQ nodes that tests start. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer().once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The ports a node started by scripts/ensure-broker.ts takes for AMQP port `port`. */
export function nodePorts(port: number): number[] {
  return [port, port + 10_000, port + 10_020, port + 20_000];
}

/**
 * `count` AMQP ports for RabbitMQ nodes whose companions (management +10000, Prometheus +10020,
 * distribution +20000) are free too and do not overlap between the nodes.
 */
export async function freeBrokerPorts(count = 1): Promise<number[]> {
  const chosen: number[] = [];
  for (let tries = 0; chosen.length < count && tries < 100; tries += 1) {
    const port = 30_000 + Math.floor(Math.random() * 10_000);
    const taken = new Set(chosen.flatMap(nodePorts));
    if (nodePorts(port).some((p) => taken.has(p))) continue;
    if ((await Promise.all(nodePorts(port).map(portIsFree))).every(Boolean)) chosen.push(port);
  }
  if (chosen.length < count) throw new Error(`no free port ranges for ${count} test broker node(s)`);
  return chosen;
}
