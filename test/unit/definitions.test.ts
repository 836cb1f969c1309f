import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFINITIONS_PATH, guestPasswordHash, renderDefinitions } from '../../scripts/generate-definitions.js';

describe('rabbitmq/definitions.json', () => {
  it('equals what buildTopology produces (regenerate: npx tsx scripts/generate-definitions.ts)', () => {
    expect(readFileSync(DEFINITIONS_PATH, 'utf8')).toBe(renderDefinitions());
  });

  it('carries a guest password hash RabbitMQ accepts for "guest"', () => {
    // rabbit_password_hashing_sha256: base64(salt(4 bytes) ++ sha256(salt ++ password)).
    const raw = Buffer.from(guestPasswordHash(), 'base64');
    const salt = raw.subarray(0, 4);
    const expected = createHash('sha256')
      .update(Buffer.concat([salt, Buffer.from('guest')]))
      .digest();
    expect(raw.subarray(4).equals(expected)).toBe(true);
  });
});
