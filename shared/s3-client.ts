import { S3Client } from '@aws-sdk/client-s3';
import type { S3Destination } from './destinations.js';

/**
 * The one way warren talks to an operator's S3 destination, so the deliverer (results out) and the
 * upload store (inputs in) behave alike against AWS and S3-compatible servers.
 */
export function s3ClientFor(destination: S3Destination): S3Client {
  return new S3Client({
    region: destination.region,
    endpoint: destination.endpoint,
    forcePathStyle: destination.forcePathStyle,
    credentials: destination.credentials,
    // S3-compatible servers often lack the newer default checksums (CRC32 trailers); AWS keeps them.
    requestChecksumCalculation: destination.endpoint ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
    responseChecksumValidation: destination.endpoint ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
    // A dead endpoint must fail the attempt, not hold it forever: connect within 10 s, no 60 s silence.
    requestHandler: { connectionTimeout: 10_000, socketTimeout: 60_000 },
  });
}

/** `s3://<bucket>/<key>`, the FileRef location of an object. */
export function s3Location(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** Bucket and key of an `s3://` location, or undefined for any other location. */
export function parseS3Location(location: string): { bucket: string; key: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  return match ? { bucket: match[1]!, key: match[2]! } : undefined;
}

/** Where a task's inputs go in the upload store's destination: `<prefix>/uploads/<task id>/`. */
export function uploadKeyPrefix(destination: S3Destination, taskId: string): string {
  return `${destination.prefix === '' ? '' : `${destination.prefix}/`}uploads/${taskId}/`;
}
