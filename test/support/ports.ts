import fs from 'node:fs';
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

/** Where the kernel starts picking local ports for outgoing connections (Linux; the usual default elsewhere). */
function ephemeralPortsFrom(): number {
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * `count` AMQP ports for RabbitMQ nodes whose companions (management +10000, Prometheus +10020,
 * distribution +20000) are free too and do not overlap between the nodes.
 *
 * All four lie below the ephemeral range when it allows (10000-12767 for Linux's 32768): a test
 * that stops a node and starts it again on the same ports (broker-outage, faults) must find them
 * free again, and a port an outgoing connection took in the meantime — in use or in TIME_WAIT,
 * for a minute — cannot be listened on, so the restart would fail at random under a busy suite.
 */
export async function freeBrokerPorts(count = 1): Promise<number[]> {
  const highest = ephemeralPortsFrom() - 20_000 - 1;
  const [from, span] = highest - 10_000 >= 1_000 ? [10_000, highest - 10_000 + 1] : [30_000, 10_000];
  const chosen: number[] = [];
  for (let tries = 0; chosen.length < count && tries < 100; tries += 1) {
    const port = from + Math.floor(Math.random() * span);
    const taken = new Set(chosen.flatMap(nodePorts));
    if (nodePorts(port).some((p) => taken.has(p))) continue;
    if ((await Promise.all(nodePorts(port).map(portIsFree))).every(Boolean)) chosen.push(port);
  }
  if (chosen.length < count) throw new Error(`no free port ranges for ${count} test broker node(s)`);
  return chosen;
}
