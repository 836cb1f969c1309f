import { spawn } from 'node:child_process';
import net from 'node:net';
import readline from 'node:readline';

/**
 * A webhook receiver that never accepts a connection, so a connect hangs as it does on a
 * black-holed address: a real HTTP server in a child process, stopped (SIGSTOP) with its accept
 * queue full. The kernel completes handshakes only while that queue (listen backlog 1) has room;
 * the test fills it, and from then on drops every SYN, so the sender waits in SYN_SENT until it
 * gives up. `resume()` (SIGCONT) lets the server accept and answer 204 to whatever arrives next.
 * Only 127.0.0.1, and only the child it started is ever signalled.
 */
export interface UnacceptingServer {
  url(path: string): string;
  /** Paths of the requests it answered, once resumed. */
  answered: string[];
  resume(): void;
  close(): Promise<void>;
}

const SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => { console.log('answered ' + req.url); res.writeHead(204).end(); });
});
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => console.log('port ' + server.address().port));
`;

export async function startUnacceptingServer(): Promise<UnacceptingServer> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const answered: string[] = [];
  const lines = readline.createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`unaccepting server exited (${code}) before listening`)));
    lines.on('line', (line) => {
      if (line.startsWith('port ')) resolve(Number(line.slice('port '.length)));
      if (line.startsWith('answered ')) answered.push(line.slice('answered '.length));
    });
  });
  child.kill('SIGSTOP');

  // Fill the accept queue: connects succeed until it is full; the first that does not shows it is.
  const fillers: net.Socket[] = [];
  for (let tries = 0; ; tries += 1) {
    if (tries > 64) throw new Error('the accept queue never filled up');
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    fillers.push(socket);
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 500);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!connected) break;
  }

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    answered,
    resume: () => child.kill('SIGCONT'),
    async close() {
      for (const socket of fillers) socket.destroy();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
