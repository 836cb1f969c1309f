import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A small disk of a test's own, to fill up: a tmpfs of `bytes`, where the machine lets us mount one
 * (as root, which this machine and its CI are); undefined elsewhere, and the test is skipped.
 * `unmount` removes it and its directory.
 */
export interface SmallDisk {
  dir: string;
  unmount(): void;
}

export function mountSmallDisk(name: string, bytes: number): SmallDisk | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `warren-${name}-`));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    fs.rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    dir,
    unmount() {
      execFileSync('umount', [dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Write zeros into `file` until the disk is full. */
export function fillDisk(file: string): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (;;) fs.writeSync(fd, Buffer.alloc(256 * 1024));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
}
