import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ConfigError } from './errors.js';

/**
 * The operator's named S3 and FTP destinations. Clients name a destination when they submit;
 * endpoints and credentials only ever come from here, so a client can never point warren at a
 * server of its choosing or learn a secret. Both variables hold a JSON object keyed by
 * destination name:
 *   S3_DESTINATIONS={"archive":{"bucket":"results","region":"us-east-1","endpoint":"http://127.0.0.1:9000",
 *                    "forcePathStyle":true,"accessKeyId":"…","secretAccessKey":"…","prefix":"warren"}}
 *   FTP_DESTINATIONS={"drop":{"host":"ftp.example.com","port":21,"user":"…","password":"…","secure":false,"root":"/incoming"}}
 * Unknown fields are refused (a misspelt "secretAccesKey" must not silently fall back to no
 * credentials). Error messages name the destination and the field, never a value.
 */

const DESTINATION_NAME = /^[a-z][a-z0-9_-]{0,63}$/;
/** One path segment: no "/", no leading dot (so no "." or ".."), nothing a server could misread. */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

const S3Schema = Type.Object(
  {
    bucket: Type.String({
      minLength: 3,
      maxLength: 63,
      pattern: '^[a-z0-9][a-z0-9.-]*[a-z0-9]$',
      hint: 'a bucket name: 3 to 63 lower-case letters, digits, "." and "-"',
    }),
    /** Default us-east-1; S3-compatible servers mostly ignore it, AWS buckets elsewhere must set it. */
    region: Type.Optional(Type.String({ pattern: '^[a-z0-9-]{1,32}$' })),
    /** An S3-compatible server (MinIO, Ceph, s3rver); default: AWS. */
    endpoint: Type.Optional(Type.String({ minLength: 1 })),
    /** Bucket in the path, not the host name: what most S3-compatible servers need (default false). */
    forcePathStyle: Type.Optional(Type.Boolean()),
    /** Both or neither; neither uses the SDK's default chain (environment, profile, instance role). */
    accessKeyId: Type.Optional(Type.String({ minLength: 1 })),
    secretAccessKey: Type.Optional(Type.String({ minLength: 1 })),
    sessionToken: Type.Optional(Type.String({ minLength: 1 })),
    /** Key prefix inside the bucket, e.g. "warren/results" (default: none). */
    prefix: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

const FtpSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:_-]+$' }),
    /** Default 21, or 990 for implicit FTPS. */
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    /** Default anonymous. */
    user: Type.Optional(Type.String({ minLength: 1 })),
    password: Type.Optional(Type.String()),
    /** true: explicit FTPS (AUTH TLS); "implicit": legacy TLS from the first byte; default false. */
    secure: Type.Optional(Type.Union([Type.Boolean(), Type.Literal('implicit')], { hint: 'true, false or "implicit"' })),
    /** Accept a server certificate that does not verify (self-signed); default true. */
    rejectUnauthorized: Type.Optional(Type.Boolean()),
    /** Absolute directory on the server under which tasks land (default /). */
    root: Type.Optional(Type.String()),
    /** Control and data socket inactivity timeout (default 30000). */
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 600_000 })),
  },
  { additionalProperties: false },
);

export interface S3Destination {
  readonly kind: 's3';
  readonly name: string;
  readonly bucket: string;
  readonly region: string;
  readonly endpoint: string | undefined;
  readonly forcePathStyle: boolean;
  /** Absent: the SDK's default credential chain. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string } | undefined;
  /** Safe segments joined by "/", no leading or trailing slash; "" for none. */
  readonly prefix: string;
}

export interface FtpDestination {
  readonly kind: 'ftp';
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly secure: boolean | 'implicit';
  readonly rejectUnauthorized: boolean;
  /** Absolute, no trailing slash except for "/" itself. */
  readonly root: string;
  readonly timeoutMs: number;
}

export type Destination = S3Destination | FtpDestination;

/** S3_DESTINATIONS — named S3 (or S3-compatible) targets clients may deliver to (default: none). */
export function parseS3Destinations(raw: string | undefined): Record<string, S3Destination> {
  return parseNamed('S3_DESTINATIONS', raw, S3Schema, (name, value) => {
    const fail = (problem: string): never => {
      throw new ConfigError('S3_DESTINATIONS', `destination "${name}": ${problem}`);
    };
    if ((value.accessKeyId === undefined) !== (value.secretAccessKey === undefined)) {
      fail('accessKeyId and secretAccessKey go together: give both, or neither for the default credential chain');
    }
    if (value.sessionToken !== undefined && value.accessKeyId === undefined) fail('sessionToken needs accessKeyId and secretAccessKey');
    if (value.endpoint !== undefined && !isPlainHttpUrl(value.endpoint)) {
      fail('endpoint must be an http:// or https:// URL without user name or password');
    }
    return protect({
      kind: 's3',
      name,
      bucket: value.bucket,
      region: value.region ?? 'us-east-1',
      endpoint: value.endpoint,
      forcePathStyle: value.forcePathStyle ?? false,
      credentials:
        value.accessKeyId !== undefined && value.secretAccessKey !== undefined
          ? { accessKeyId: value.accessKeyId, secretAccessKey: value.secretAccessKey, ...(value.sessionToken ? { sessionToken: value.sessionToken } : {}) }
          : undefined,
      prefix: relativePath(value.prefix ?? '', () => fail('prefix must be "/"-separated segments of letters, digits, ".", "_" and "-" (no "." or "..")')),
    });
  });
}

/** FTP_DESTINATIONS — named FTP/FTPS servers clients may deliver to (default: none). */
export function parseFtpDestinations(raw: string | undefined): Record<string, FtpDestination> {
  return parseNamed('FTP_DESTINATIONS', raw, FtpSchema, (name, value) => {
    const secure = value.secure ?? false;
    const root = relativePath(
      value.root ?? '/',
      () => {
        throw new ConfigError('FTP_DESTINATIONS', `destination "${name}": root must be an absolute path of segments of letters, digits, ".", "_" and "-"`);
      },
      true,
    );
    return protect({
      kind: 'ftp',
      name,
      host: value.host,
      port: value.port ?? (secure === 'implicit' ? 990 : 21),
      user: value.user ?? 'anonymous',
      password: value.password ?? '',
      secure,
      rejectUnauthorized: value.rejectUnauthorized ?? true,
      root: `/${root}`,
      timeoutMs: value.timeoutMs ?? 30_000,
    });
  });
}

/** What a destination may show in status, logs and errors: everything but its credentials. */
export function redactDestination(destination: Destination): Record<string, unknown> {
  if (destination.kind === 's3') {
    const { credentials, ...visible } = destination;
    return { ...visible, credentials: credentials ? 'configured' : 'default chain' };
  }
  const { password: _password, user: _user, ...visible } = destination;
  return { ...visible, credentials: destination.user === 'anonymous' ? 'anonymous' : 'configured' };
}

/** One line naming a destination for people, e.g. `s3 "archive" (s3://results/warren at http://127.0.0.1:9000)`. */
export function describeDestination(destination: Destination): string {
  if (destination.kind === 's3') {
    const where = `s3://${destination.bucket}/${destination.prefix}`;
    return `s3 "${destination.name}" (${where}${destination.endpoint ? ` at ${destination.endpoint}` : ''})`;
  }
  return `ftp "${destination.name}" (${destination.secure ? 'ftps' : 'ftp'}://${destination.host}:${destination.port}${destination.root})`;
}

function parseNamed<S extends TSchema, D extends Destination>(
  variable: string,
  raw: string | undefined,
  schema: S,
  build: (name: string, value: Static<S>) => D,
): Record<string, D> {
  if (raw === undefined || raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // JSON.parse's message quotes the input, which holds secrets: say only what is wrong.
    throw new ConfigError(variable, 'is not valid JSON; expected an object keyed by destination name');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(variable, 'must be a JSON object keyed by destination name');
  }
  const check = TypeCompiler.Compile(schema);
  const destinations: Record<string, D> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (!DESTINATION_NAME.test(name)) {
      throw new ConfigError(variable, `destination name "${name.slice(0, 64)}" must match ${DESTINATION_NAME.source}`);
    }
    const [first] = check.Errors(value);
    if (first) {
      // The path and what was expected, never `first.value`: it may be a secret.
      const field = first.path === '' ? 'the destination' : first.path.slice(1);
      const hint = (first.schema as { hint?: string }).hint;
      const problem =
        first.value === undefined
          ? 'is required'
          : first.message === 'Unexpected property'
            ? 'is not a known field'
            : hint !== undefined
              ? `must be ${hint}`
              : first.message;
      throw new ConfigError(variable, `destination "${name}": ${field}: ${problem}`);
    }
    destinations[name] = build(name, value as Static<S>);
  }
  return destinations;
}

/** "a/b", "/a/b/" → "a/b" (and "" for none); anything else is refused through `refuse`. */
function relativePath(raw: string, refuse: () => never, mustBeAbsolute = false): string {
  if (mustBeAbsolute && !raw.startsWith('/')) refuse();
  const segments = raw.split('/').filter((segment) => segment !== '');
  if (!segments.every((segment) => SEGMENT.test(segment))) refuse();
  return segments.join('/');
}

function isPlainHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

/** A destination logged or serialised whole (a config dump, an error's context) shows no secret. */
function protect<D extends Destination>(destination: D): D {
  Object.defineProperty(destination, 'toJSON', { value: () => redactDestination(destination), enumerable: false });
  Object.defineProperty(destination, Symbol.for('nodejs.util.inspect.custom'), { value: () => redactDestination(destination), enumerable: false });
  return Object.freeze(destination);
}
